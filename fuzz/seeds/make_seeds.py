"""Seeds of the fuzz targets that the interop fixtures do not cover: a legacy (pre-1.6,
non-ZIP) torch.save file. Run from this folder: python3 make_seeds.py"""
import torch

torch.manual_seed(0)
state = {
    "conv.weight": torch.randn(4, 2, 3, 3),
    "conv.bias": torch.randn(4),
    "head.weight": torch.randn(10, 4, dtype=torch.float64),
    "steps": torch.tensor([3], dtype=torch.int64),
    "half": torch.randn(5).half(),
}
torch.save(state, "state_dict.legacy.pt", _use_new_zipfile_serialization=False)
