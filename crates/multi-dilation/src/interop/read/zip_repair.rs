//! A valid `torch.save` archive that the `zip` crate (9.x, under burn-store's PyTorch reader)
//! misreads, and the byte-for-byte equivalent archive it reads.
//!
//! PyTorch ends every archive with its central directory, then a ZIP64 end-of-central-directory
//! record and locator (76 bytes), then the classic end record, which holds the real offset and
//! size of the directory (no ZIP64 markers). Asked to detect where the archive starts, the
//! `zip` crate guesses that the directory starts `size` bytes before the classic end record,
//! as if nothing stood between them, and accepts the guess when a central-directory signature
//! is found there. Exactly when the first directory entry is 76 bytes long (a 30-byte file
//! name: `torch.save` names its entries after the file stem, so a 21-character stem), the guess
//! lands on the second entry, the archive looks shifted by 76 bytes, and reading stops at the
//! ZIP64 record with "Invalid Central Directory header". Python's `zipfile` checks for the
//! ZIP64 locator first and reads such files.
//!
//! The ZIP64 records repeat what the classic end record says, so dropping them gives an
//! equivalent archive: the local headers, the directory and its offset are unchanged.

/// The classic end-of-central-directory record: signature and fixed size.
const EOCD: &[u8; 4] = b"PK\x05\x06";
const EOCD_LEN: usize = 22;
/// A central-directory file header's signature.
const CDFH: &[u8; 4] = b"PK\x01\x02";
/// The ZIP64 end record's and locator's signatures.
const ZIP64_END: &[u8; 4] = b"PK\x06\x06";
const ZIP64_LOCATOR: &[u8; 4] = b"PK\x06\x07";
const ZIP64_LOCATOR_LEN: usize = 20;

fn u16_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(
        bytes.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        bytes.get(at..at + 4)?.try_into().ok()?,
    )))
}

/// The archive without its redundant ZIP64 records when `bytes` is an archive the `zip`
/// crate would misread as described in the module documentation; `None` for any other input
/// (every other archive, and anything that is not one).
pub(super) fn repaired(bytes: &[u8]) -> Option<Vec<u8>> {
    // The classic end record has no comment in PyTorch's archives: it is the last 22 bytes.
    let eocd = bytes.len().checked_sub(EOCD_LEN)?;
    if bytes.get(eocd..eocd + 4)? != EOCD {
        return None;
    }
    let entries = u16_at(bytes, eocd + 10)?;
    let (size, offset) = (u32_at(bytes, eocd + 12)?, u32_at(bytes, eocd + 16)?);
    if entries == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        // A real ZIP64 archive: the ZIP64 records are needed.
        return None;
    }
    let directory_end = usize::try_from(offset.checked_add(size)?).ok()?;
    let guess = eocd.checked_sub(usize::try_from(size).ok()?)?;
    let misleading = directory_end < eocd
        && guess != usize::try_from(offset).ok()?
        && bytes.get(guess..guess + 4)? == CDFH
        && bytes.get(directory_end..directory_end + 4)? == ZIP64_END
        && bytes.get(eocd - ZIP64_LOCATOR_LEN..eocd - ZIP64_LOCATOR_LEN + 4)? == ZIP64_LOCATOR;
    misleading.then(|| [&bytes[..directory_end], &bytes[eocd..]].concat())
}

#[cfg(test)]
mod tests {
    use super::repaired;

    /// A minimal archive layout: `directory` bytes at `offset`, then `gap`, then the end record.
    fn archive(head: &[u8], directory: &[u8], gap: &[u8]) -> Vec<u8> {
        let mut bytes = head.to_vec();
        let offset = bytes.len() as u32;
        bytes.extend_from_slice(directory);
        bytes.extend_from_slice(gap);
        bytes.extend_from_slice(b"PK\x05\x06");
        bytes.extend_from_slice(&[0; 6]);
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&(directory.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&offset.to_le_bytes());
        bytes.extend_from_slice(&[0; 2]);
        bytes
    }

    /// A 76-byte ZIP64 end record and locator.
    fn zip64_block() -> Vec<u8> {
        let mut block = b"PK\x06\x06".to_vec();
        block.resize(56, 0);
        block.extend_from_slice(b"PK\x06\x07");
        block.resize(76, 0);
        block
    }

    #[test]
    fn only_the_misleading_layout_is_rewritten() {
        // Two directory entries, the first 76 bytes long: the guess lands on the second.
        let mut directory = b"PK\x01\x02".to_vec();
        directory.resize(76, 7);
        directory.extend_from_slice(b"PK\x01\x02");
        directory.resize(120, 9);
        let head = b"PK\x03\x04 local headers and data".to_vec();
        let broken = archive(&head, &directory, &zip64_block());
        let fixed = repaired(&broken).expect("the misleading layout");
        assert_eq!(fixed, archive(&head, &directory, &[]));
        assert_eq!(fixed.len(), broken.len() - 76);
        // Already repaired, or a first entry of another length: left alone.
        assert_eq!(repaired(&fixed), None);
        let mut other = b"PK\x01\x02".to_vec();
        other.resize(120, 7);
        assert_eq!(repaired(&archive(&head, &other, &zip64_block())), None);
        // Not an archive, or cut short: nothing.
        for bytes in [&b""[..], b"PK\x05\x06", &broken[..broken.len() - 1]] {
            assert_eq!(repaired(bytes), None);
        }
    }
}
