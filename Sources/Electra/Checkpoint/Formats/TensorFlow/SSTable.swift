/// The sorted string table (LevelDB's format) that TensorFlow writes as a checkpoint's
/// `.index`: data blocks of key/value entries, an index block holding one block handle per
/// data block, an (empty) metaindex block, and a 48-byte footer locating both. Each block is
/// followed by a 5-byte trailer: compression type and the masked CRC-32C of block + type.
/// Within a block, each key stores only the bytes it does not share with the previous key;
/// a trailing array of "restart" offsets (where keys are whole) serves seeking, which a
/// reader of every entry does not need.
///
/// An index is small (about 100 bytes per variable), so it is read whole into memory.
enum SSTable {
    static let magic: UInt64 = 0xDB47_7524_8B80_FB57
    /// Two varint handles padded to 40 bytes, then the magic number.
    static let footerLength = 48
    static let trailerLength = 5

    struct BlockHandle: Equatable, Sendable {
        let offset: UInt64
        let size: UInt64
    }

    struct Entry: Sendable {
        let key: [UInt8]
        let value: [UInt8]
    }

    /// Longest key accepted. Keys are tensor names, far shorter than this; a cap is needed
    /// because an entry may share the whole previous key and add a byte, so a few bytes of
    /// file can lengthen every following key.
    static let maxKeyLength = 1 << 16
    /// Memory charged per entry besides its key and value bytes (the entry and two arrays).
    static let entryOverhead = 64

    /// The bytes (keys + values + overhead) the entries of an index of `size` bytes may take:
    /// prefix-shared keys each get their own copy, so without a budget ~1 MB of entries that
    /// each repeat the previous key could ask for tens of GB. Real indexes (keys of ~50-150
    /// bytes sharing most of the previous one, ~30-byte values) need about 5-7x.
    static func memoryBudget(indexSize size: Int) -> Int { 16 * size + (16 << 20) }

    /// Every entry of the table in key order. `name` is the file's name, for errors.
    static func entries(of bytes: [UInt8], name: String) throws -> [Entry] {
        guard bytes.count >= footerLength else {
            throw ElectraError("\(name): only \(bytes.count) bytes, less than the \(footerLength)-byte table footer: the index is truncated or not a TensorFlow checkpoint index")
        }
        let footer = bytes.count - footerLength
        var magicBytes = ProtobufReader(bytes, range: (bytes.count - 8)..<bytes.count, context: name)
        guard try magicBytes.readFixed64() == magic else {
            throw ElectraError("\(name): bad magic number at the end: not a TensorFlow checkpoint index (SSTable), or its end is truncated or corrupt")
        }
        var handles = ProtobufReader(bytes, range: footer..<(bytes.count - 8), context: "\(name) footer")
        _ = try blockHandle(&handles)  // metaindex: TensorFlow writes no meta blocks
        let indexHandle = try blockHandle(&handles)
        let index = try block(indexHandle, of: bytes, limit: footer, name: name, what: "index block")
        var budget = Budget(left: memoryBudget(indexSize: bytes.count), indexSize: bytes.count)
        var out: [Entry] = []
        var nextFree: UInt64 = 0
        for (number, handleEntry) in try blockEntries(index.bytes, index.range, name: name, what: "index block", budget: &budget).enumerated() {
            var r = ProtobufReader(handleEntry.value, context: "\(name) index entry \(number)")
            let h = try blockHandle(&r)
            // Data blocks lie in file order without overlap, as TableBuilder writes them; this
            // also bounds the work on a corrupt index to one pass over the file.
            guard h.offset >= nextFree else {
                throw ElectraError("\(name): data block \(number) at offset \(h.offset) overlaps the previous one: the index is corrupt")
            }
            let data = try block(h, of: bytes, limit: footer, name: name, what: "data block \(number)")
            nextFree = h.offset + h.size + UInt64(trailerLength)
            // Key order is checked entry by entry inside the block, so a corrupt block stops
            // at its first bad key, not after all of it was decoded.
            out += try blockEntries(data.bytes, data.range, name: name, what: "data block \(number)", budget: &budget, ordered: true, after: out.last?.key)
        }
        return out
    }

    /// What decoded entries may still take, shared by every block of one index.
    struct Budget {
        var left: Int
        /// For the message.
        let indexSize: Int
    }

    static func blockHandle(_ r: inout ProtobufReader) throws -> BlockHandle {
        BlockHandle(offset: try r.readVarint(), size: try r.readVarint())
    }

    /// The contents of the block at `h` (checked against its CRC, decompressed if needed),
    /// as a range of a byte array. Blocks must end before `limit` (the footer).
    static func block(
        _ h: BlockHandle, of bytes: [UInt8], limit: Int, name: String, what: String
    ) throws -> (bytes: [UInt8], range: Range<Int>) {
        let room = UInt64(limit)
        guard h.offset <= room, h.size <= room - h.offset, UInt64(trailerLength) <= room - h.offset - h.size else {
            throw ElectraError("\(name): \(what) (offset \(h.offset), \(h.size) bytes) runs past the end of the table (\(limit) bytes before the footer): the index is truncated or corrupt")
        }
        let start = Int(h.offset)
        let end = start + Int(h.size)
        var trailer = ProtobufReader(bytes, range: (end + 1)..<(end + 5), context: name)
        let stored = CRC32C.unmask(try trailer.readFixed32())
        let actual = CRC32C.checksum(bytes, range: start..<(end + 1))
        guard stored == actual else {
            throw ElectraError("\(name): checksum mismatch in \(what) (stored crc32c \(CRC32C.hex(stored)), computed \(CRC32C.hex(actual))): the index is corrupt")
        }
        switch bytes[end] {
        case 0: return (bytes, start..<end)
        case 1:
            let raw = try Snappy.decompress(bytes, range: start..<end, context: "\(name) \(what)")
            return (raw, 0..<raw.count)
        case let t:
            throw ElectraError("\(name): \(what) has unknown compression type \(t) (TensorFlow writes 0, none, or 1, snappy)")
        }
    }

    /// The entries of one block's contents `bytes[range]`, keys made whole, each charged to
    /// `budget` before it is built. With `ordered`, each key must follow the one before it
    /// (`after`: the last key of the previous block). Index-block keys are not checked: they
    /// are only separators, which this reader does not use.
    static func blockEntries(
        _ bytes: [UInt8], _ range: Range<Int>, name: String, what: String,
        budget: inout Budget, ordered: Bool = false, after previous: [UInt8]? = nil
    ) throws -> [Entry] {
        func corrupt(_ why: String) -> ElectraError { ElectraError("\(name): \(what) is corrupt (\(why))") }
        guard range.count >= 4 else { throw corrupt("\(range.count) bytes, too short for its restart count") }
        var countReader = ProtobufReader(bytes, range: (range.upperBound - 4)..<range.upperBound, context: name)
        let restarts = Int(try countReader.readFixed32())
        guard restarts <= (range.count - 4) / 4 else { throw corrupt("\(restarts) restart points do not fit in \(range.count) bytes") }
        // As in TensorFlow: a block without restart points has no entries.
        guard restarts > 0 else { return [] }
        let limit = range.upperBound - 4 * (restarts + 1)
        var r = ProtobufReader(bytes, range: range.lowerBound..<limit, context: "\(name) \(what)")
        var key: [UInt8] = []
        var out: [Entry] = []
        while !r.isAtEnd {
            let shared = try r.readVarint(), unshared = try r.readVarint(), valueLength = try r.readVarint()
            guard shared <= UInt64(key.count) else { throw corrupt("an entry shares \(shared) bytes of a \(key.count)-byte key") }
            guard unshared <= UInt64(limit - r.position), valueLength <= UInt64(limit - r.position) - unshared else {
                throw corrupt("an entry runs past the end of the block")
            }
            // Both are below the block size here, so the sums cannot overflow.
            let keyLength = Int(shared) + Int(unshared)
            guard keyLength <= maxKeyLength else {
                throw ElectraError("\(name): \(what) has a key of \(keyLength) bytes, more than the \(maxKeyLength) a tensor name may have: the index is corrupt")
            }
            let cost = keyLength + Int(valueLength) + entryOverhead
            guard cost <= budget.left else {
                throw ElectraError("\(name): the entries of this \(budget.indexSize)-byte index would take more than \(memoryBudget(indexSize: budget.indexSize)) bytes of memory (stopped in \(what)): the index is corrupt")
            }
            budget.left -= cost
            key.removeSubrange(Int(shared)...)
            key.append(contentsOf: bytes[try r.readBytes(Int(unshared))])
            if ordered, let last = out.last?.key ?? previous, !last.lexicographicallyPrecedes(key) {
                throw ElectraError("\(name): keys out of order in \(what) ('\(printable(key))' after '\(printable(last))'): the index is corrupt")
            }
            out.append(Entry(key: key, value: Array(bytes[try r.readBytes(Int(valueLength))])))
        }
        return out
    }

    /// A key for messages: UTF-8 where valid, other bytes escaped.
    static func printable(_ key: [UInt8]) -> String {
        if let s = String(validating: key, as: UTF8.self), !s.unicodeScalars.contains(where: { $0.value < 0x20 }) { return s }
        return key.map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "\\x" + hex2($0) }.joined()
    }
}

private func hex2(_ b: UInt8) -> String { (b < 16 ? "0" : "") + String(b, radix: 16) }
