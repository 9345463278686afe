// Per-scalar character classes and maps used by normalization and pre-tokenization.
//
// Built once (lazily) from the generated `UnicodeTables`, which were probed from HF
// tokenizers itself: Swift's Unicode data is newer than the Rust crates HF pins, and parity
// needs HF's view. Lookups are a two-stage table (256-scalar blocks), so a class test is two
// loads; ASCII has its own flat tables for the hot path.

struct CharFlags: OptionSet, Sendable {
    let rawValue: UInt8
    static let removed = CharFlags(rawValue: 1)          // clean_text drops it
    static let cleanWhitespace = CharFlags(rawValue: 2)  // clean_text maps it to ' '
    static let whitespace = CharFlags(rawValue: 4)       // pre-tokenizer whitespace
    static let punctuation = CharFlags(rawValue: 8)      // BertPreTokenizer punctuation
    static let cjk = CharFlags(rawValue: 16)             // handle_chinese_chars isolates it
    static let stripRemoves = CharFlags(rawValue: 32)    // strip_accents removes it (Mn)
    static let regexWord = CharFlags(rawValue: 64)       // `\w` for the Whitespace pre-tokenizer
    static let mapped = CharFlags(rawValue: 128)         // has a lowercase or decomposition entry
}

final class CharacterClasses: Sendable {
    static let shared = CharacterClasses()

    private let stage1: [UInt16]     // block index per 256-scalar block
    private let stage2: [UInt8]      // flags, 256 per block
    /// Lowercase / decomposition results, as scalars in a flat pool: scalar -> (start, count).
    private let lowerIndex: [UInt32: UInt32]
    private let decompIndex: [UInt32: UInt32]
    let pool: [UInt32]

    private init() {
        var flat = [UInt8](repeating: 0, count: 0x110000)
        func mark(_ spec: String, _ flag: CharFlags) {
            for part in spec.split(separator: ",") {
                let bounds = part.split(separator: "-")
                let lo = Int(bounds[0], radix: 16)!
                let hi = bounds.count > 1 ? Int(bounds[1], radix: 16)! : lo
                for cp in lo...hi { flat[cp] |= flag.rawValue }
            }
        }
        mark(UnicodeTables.removed, .removed)
        mark(UnicodeTables.cleanWhitespace, .cleanWhitespace)
        mark(UnicodeTables.whitespace, .whitespace)
        mark(UnicodeTables.punctuation, .punctuation)
        mark(UnicodeTables.cjk, .cjk)
        mark(UnicodeTables.stripRemoves, .stripRemoves)
        mark(UnicodeTables.regexWord, .regexWord)

        var pool: [UInt32] = []
        func parseMap(_ spec: String) -> [UInt32: UInt32] {
            var index: [UInt32: UInt32] = [:]
            for entry in spec.split(separator: ",") {
                let kv = entry.split(separator: ":")
                let cp = UInt32(kv[0], radix: 16)!
                let outs = kv[1].split(separator: ".").map { UInt32($0, radix: 16)! }
                index[cp] = UInt32(pool.count) << 8 | UInt32(outs.count)
                pool.append(contentsOf: outs)
                flat[Int(cp)] |= CharFlags.mapped.rawValue
            }
            return index
        }
        lowerIndex = parseMap(UnicodeTables.lowercase)
        decompIndex = parseMap(UnicodeTables.decomposition)
        for cp in 0xAC00...0xD7A3 { flat[cp] |= CharFlags.mapped.rawValue }  // Hangul syllables
        self.pool = pool

        var s1 = [UInt16](repeating: 0, count: 0x1100)
        var s2: [UInt8] = []
        var seen: [[UInt8]: UInt16] = [:]
        var uniform = [UInt16?](repeating: nil, count: 256)  // the block of 256 x one flag byte
        for block in 0..<0x1100 {
            let slice = Array(flat[(block << 8)..<((block + 1) << 8)])
            // Most blocks hold one flag value throughout: found without hashing 256 bytes
            // (hashing every block was a tenth of a tokenizer's load).
            if slice.allSatisfy({ $0 == slice[0] }) {
                if let idx = uniform[Int(slice[0])] {
                    s1[block] = idx
                    continue
                }
                let idx = UInt16(s2.count >> 8)
                uniform[Int(slice[0])] = idx
                s1[block] = idx
                s2.append(contentsOf: slice)
                continue
            }
            if let idx = seen[slice] {
                s1[block] = idx
            } else {
                let idx = UInt16(s2.count >> 8)
                seen[slice] = idx
                s1[block] = idx
                s2.append(contentsOf: slice)
            }
        }
        stage1 = s1
        stage2 = s2
    }

    @inline(__always)
    func flags(_ scalar: UInt32) -> CharFlags {
        if scalar >= 0x110000 { return [] }
        return stage1.withUnsafeBufferPointer { s1 in
            stage2.withUnsafeBufferPointer { s2 in
                CharFlags(rawValue: s2[Int(s1[Int(scalar >> 8)]) << 8 | Int(scalar & 0xFF)])
            }
        }
    }

    /// Rust `char::to_lowercase` as HF applies it (per character, no final-sigma rule).
    /// Returns nil when the scalar lowercases to itself.
    @inline(__always)
    func lowercase(_ scalar: UInt32) -> (start: Int, count: Int)? {
        guard let v = lowerIndex[scalar] else { return nil }
        return (Int(v >> 8), Int(v & 0xFF))
    }

    /// Canonical decomposition (NFD) with nonspacing marks removed, as HF's strip_accents does.
    /// Hangul syllables are handled algorithmically by the caller. nil = unchanged.
    @inline(__always)
    func decomposition(_ scalar: UInt32) -> (start: Int, count: Int)? {
        guard let v = decompIndex[scalar] else { return nil }
        return (Int(v >> 8), Int(v & 0xFF))
    }
}
