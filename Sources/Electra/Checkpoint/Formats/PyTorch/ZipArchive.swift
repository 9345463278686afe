import Foundation

/// The central directory of a zip archive held in memory (a mapped file), read in place:
/// entries are byte ranges of the buffer, so a stored (uncompressed) member is used without a
/// copy. This is what torch.save writes: every member stored, data 64-byte aligned.
/// Every offset and length is checked against the buffer; a truncated or corrupt archive is an
/// error naming the file, never a crash. CRCs are not verified (the data is used in place).
struct ZipArchive {
    struct Entry {
        let name: String
        /// 0 = stored; anything else is compressed.
        let method: UInt16
        let flags: UInt16
        /// The member's bytes as stored (compressed size), after its local header.
        let data: Range<Int>
    }

    let source: String
    let entries: [String: Entry]
    /// Entry names in central-directory order.
    let names: [String]

    init(base: UnsafeRawPointer, size: Int, source: String) throws {
        self.source = source
        let r = ZipBytes(base: base, size: size, source: source)
        let end = try Self.findEndOfCentralDirectory(r)
        var count = Int(try r.u16(end + 10))
        var cdSize = Int(try r.u32(end + 12))
        var cdOffset = Int(try r.u32(end + 16))
        let disk = try r.u16(end + 4), cdDisk = try r.u16(end + 6)
        var cdLimit = end  // the directory must end before the record that points at it
        // ZIP64 (archives over 4 GiB or 65535 members): a locator right before the end record.
        if end >= 20, try r.u32(end - 20) == 0x0706_4B50 {
            let z = try r.int64Field(end - 12, "ZIP64 end record offset")
            guard z <= end - 20 - 56, try r.u32(z) == 0x0606_4B50 else {
                throw r.fail("the ZIP64 locator points at byte \(z), which holds no ZIP64 end record")
            }
            count = try r.int64Field(z + 32, "ZIP64 entry count")
            cdSize = try r.int64Field(z + 40, "ZIP64 directory size")
            cdOffset = try r.int64Field(z + 48, "ZIP64 directory offset")
            cdLimit = z
        } else if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            throw r.fail("the end record needs ZIP64 values but the ZIP64 locator is missing (truncated?)")
        } else if disk != 0 || cdDisk != 0 {
            throw r.fail("multi-part (spanned) zip archives are not supported")
        }
        guard cdOffset <= cdLimit, cdSize <= cdLimit - cdOffset else {
            throw r.fail("the central directory (\(cdSize) bytes at \(cdOffset)) runs past its end record at \(cdLimit); the file is truncated or corrupt")
        }
        // Each directory record is at least 46 bytes: the count cannot claim more than fit.
        guard count <= cdSize / 46 else {
            throw r.fail("the end record claims \(count) entries but the central directory holds only \(cdSize) bytes")
        }
        var entries: [String: Entry] = [:]
        var names: [String] = []
        entries.reserveCapacity(count)
        names.reserveCapacity(count)
        var p = cdOffset
        for _ in 0..<count {
            let (entry, next) = try Self.centralRecord(r, at: p, dataLimit: cdOffset, directoryEnd: cdOffset + cdSize)
            guard entries.updateValue(entry, forKey: entry.name) == nil else {
                throw r.fail("the entry '\(entry.name)' appears twice")
            }
            names.append(entry.name)
            p = next
        }
        self.entries = entries
        self.names = names
    }

    /// The bytes of a stored (uncompressed, unencrypted) member.
    func storedData(_ name: String) throws -> Range<Int> {
        guard let e = entries[name] else { throw ElectraError("\(source): the zip archive has no entry '\(name)'") }
        guard e.flags & 1 == 0 else { throw ElectraError("\(source): the zip entry '\(name)' is encrypted") }
        guard e.method == 0 else {
            throw ElectraError("\(source): the zip entry '\(name)' is compressed (method \(e.method)); torch.save stores members uncompressed, so this archive was repacked — re-save it with torch.save or unzip and re-zip with `zip -0`")
        }
        return e.data
    }

    /// Scans back from the end for the end-of-central-directory record (22 bytes plus a
    /// comment of up to 65535 bytes).
    static func findEndOfCentralDirectory(_ r: ZipBytes) throws -> Int {
        guard r.size >= 22 else { throw r.fail("only \(r.size) bytes, too short to be a zip archive") }
        var p = r.size - 22
        let lowest = max(0, r.size - 22 - 0xFFFF)
        while p >= lowest {
            if try r.u32(p) == 0x0605_4B50, 22 + Int(try r.u16(p + 20)) <= r.size - p { return p }
            p -= 1
        }
        throw r.fail("no zip end-of-central-directory record; the file is truncated or not a zip archive")
    }

    /// One central-directory record at `p`: the entry and where the next record starts.
    static func centralRecord(_ r: ZipBytes, at p: Int, dataLimit: Int, directoryEnd: Int) throws -> (Entry, Int) {
        guard p <= directoryEnd - 46, try r.u32(p) == 0x0201_4B50 else {
            throw r.fail("a central directory record at byte \(p) is missing or corrupt")
        }
        let flags = try r.u16(p + 8), method = try r.u16(p + 10)
        var compressed = Int(try r.u32(p + 20)), uncompressed = Int(try r.u32(p + 24))
        let nameLen = Int(try r.u16(p + 28)), extraLen = Int(try r.u16(p + 30)), commentLen = Int(try r.u16(p + 32))
        var local = Int(try r.u32(p + 42))
        let next = p + 46 + nameLen + extraLen + commentLen
        guard next <= directoryEnd else { throw r.fail("the central directory record at byte \(p) runs past the directory") }
        let name = try r.string(p + 46, count: nameLen)
        // ZIP64 extra field (id 1): 8-byte values for exactly the fields saturated above, in order.
        var q = p + 46 + nameLen
        let extraEnd = q + extraLen
        while q + 4 <= extraEnd {
            let id = try r.u16(q), len = Int(try r.u16(q + 2))
            guard q + 4 + len <= extraEnd else { throw r.fail("entry '\(name)' has a malformed extra field") }
            if id == 1 {
                var f = q + 4
                func take() throws -> Int {
                    guard f + 8 <= q + 4 + len else { throw r.fail("entry '\(name)' has a short ZIP64 extra field") }
                    defer { f += 8 }
                    return try r.int64Field(f, "ZIP64 size of '\(name)'")
                }
                if uncompressed == 0xFFFF_FFFF { uncompressed = try take() }
                if compressed == 0xFFFF_FFFF { compressed = try take() }
                if local == 0xFFFF_FFFF { local = try take() }
            }
            q += 4 + len
        }
        guard compressed != 0xFFFF_FFFF, local != 0xFFFF_FFFF else {
            throw r.fail("entry '\(name)' needs a ZIP64 extra field but has none")
        }
        if method == 0, compressed != uncompressed {
            throw r.fail("stored entry '\(name)' has compressed size \(compressed) but size \(uncompressed)")
        }
        // The local header repeats the name and has its own extra field (torch pads it so the
        // data is 64-byte aligned); the data starts after both.
        guard local <= dataLimit - 30, try r.u32(local) == 0x0403_4B50 else {
            throw r.fail("the local header of entry '\(name)' (byte \(local)) is missing or corrupt")
        }
        let start = local + 30 + Int(try r.u16(local + 26)) + Int(try r.u16(local + 28))
        guard start <= dataLimit, compressed <= dataLimit - start else {
            throw r.fail("the data of entry '\(name)' (\(compressed) bytes at \(start)) runs past the end of the members; the file is truncated or corrupt")
        }
        return (Entry(name: name, method: method, flags: flags, data: start..<(start + compressed)), next)
    }
}

/// Bounds-checked little-endian field reads over the archive buffer.
struct ZipBytes {
    let base: UnsafeRawPointer
    let size: Int
    let source: String

    func fail(_ what: String) -> ElectraError { ElectraError("\(source): invalid zip archive: \(what)") }

    func check(_ at: Int, _ n: Int) throws {
        guard at >= 0, at <= size - n else {
            throw fail("a field at byte \(at) lies past the end of the file (\(size) bytes); the file is truncated")
        }
    }
    func u16(_ at: Int) throws -> UInt16 {
        try check(at, 2)
        return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt16.self))
    }
    func u32(_ at: Int) throws -> UInt32 {
        try check(at, 4)
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }
    /// A 64-bit size or offset; values that cannot be a position in this process are errors.
    func int64Field(_ at: Int, _ what: String) throws -> Int {
        try check(at, 8)
        let v = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        guard v <= UInt64(Int.max / 2) else { throw fail("\(what) is \(v), larger than any file") }
        return Int(v)
    }
    func string(_ at: Int, count: Int) throws -> String {
        try check(at, count)
        guard let s = String(validating: UnsafeRawBufferPointer(start: base + at, count: count), as: UTF8.self) else {
            throw fail("an entry name at byte \(at) is not valid UTF-8")
        }
        return s
    }
}
