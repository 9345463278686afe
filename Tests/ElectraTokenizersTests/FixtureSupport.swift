import Dispatch
import Foundation
import XCTest

@testable import ElectraTokenizers

/// The committed parity fixture written by scripts/reference/make_tokenizer_fixtures.py.
final class ParityFixture: @unchecked Sendable {
    let dir: URL
    let singles: [String]
    let pairs: [(String, String)]
    let qa: [(String, String)]
    let addedProbe: [String]
    let hashes: [UInt32]
    let manifest: [String: Any]
    let details: [[String: Any]]

    nonisolated(unsafe) static var cached: ParityFixture?
    static let lock = NSLock()

    static func shared() throws -> ParityFixture {
        lock.lock()
        defer { lock.unlock() }
        if let c = cached { return c }
        let f = try ParityFixture()
        cached = f
        return f
    }

    static var fixturesDir: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("tokenizer")
    }

    private init() throws {
        dir = Self.fixturesDir
        let blob = try inflate(Array(Data(contentsOf: dir.appendingPathComponent("texts.bin.deflate"))))
        var pos = 0
        func u32() -> Int {
            let v = Int(blob[pos]) | Int(blob[pos + 1]) << 8 | Int(blob[pos + 2]) << 16 | Int(blob[pos + 3]) << 24
            pos += 4
            return v
        }
        func record() -> String {
            let n = u32()
            let s = String(decoding: blob[pos..<(pos + n)], as: UTF8.self)
            pos += n
            return s
        }
        let (ns, np, nq, na) = (u32(), u32(), u32(), u32())
        let singleLines = (0..<ns).map { _ in record() }
        singles = singleLines
        pairs = (0..<np).map { _ in (record(), record()) }
        qa = (0..<nq).map { _ in
            let q = record()
            return (q, singleLines[u32()])
        }
        addedProbe = (0..<na).map { _ in record() }
        let h = try Data(contentsOf: dir.appendingPathComponent("hashes.bin"))
        hashes = h.withUnsafeBytes { raw in
            (0..<(h.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian }
        }
        manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("manifest.json"))) as! [String: Any]
        let d = try inflate(Array(Data(contentsOf: dir.appendingPathComponent("details.json.deflate"))))
        details = try JSONSerialization.jsonObject(with: Data(d)) as! [[String: Any]]
    }

    var variants: [[String: Any]] { manifest["variants"] as! [[String: Any]] }

    /// The tokenizer a manifest variant describes.
    private var tokenizerCache: [String: ElectraTokenizer] = [:]
    private let cacheLock = NSLock()

    func tokenizer(for v: [String: Any], sub: Int? = nil) throws -> ElectraTokenizer {
        if let sub, let subs = v["variants"] as? [[String: Any]] {
            return try tokenizer(for: v.merging(subs[sub]) { $1 }.filter { $0.key != "variants" })
        }
        let keys = ["tokenizer", "lowercase", "strip_accents", "truncation", "padding"]
        let key = keys.map { "\($0)=\(v[$0].map { "\($0)" } ?? "-")" }.joined(separator: ";")
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let t = tokenizerCache[key] { return t }
        let t = try makeTokenizer(for: v)
        tokenizerCache[key] = t
        return t
    }

    private func makeTokenizer(for v: [String: Any]) throws -> ElectraTokenizer {
        let bert = dir.appendingPathComponent("bert-base-uncased")
        var tok: ElectraTokenizer
        switch v["tokenizer"] as! String {
        case "json":
            tok = try ElectraTokenizer.load(tokenizerJSON: bert.appendingPathComponent("tokenizer.json"))
            tok.padding = nil
            try tok.setTruncation(nil)
        case "json-as-shipped":
            tok = try ElectraTokenizer.load(directory: bert)
        case "vocab":
            tok = try ElectraTokenizer(
                vocabFile: bert.appendingPathComponent("vocab.txt"), lowercase: v["lowercase"] as? Bool ?? true,
                stripAccents: v["strip_accents"] as? Bool)
        case "added":
            tok = try ElectraTokenizer.load(tokenizerJSON: dir.appendingPathComponent("added-tokens.json"))
        default:
            fatalError("unknown fixture tokenizer")
        }
        if let t = v["truncation"] as? [String: Any] {
            try tok.setTruncation(TruncationOptions(
                maxLength: t["max_length"] as! Int, strategy: TruncationStrategy(rawValue: t["strategy"] as! String)!,
                stride: t["stride"] as! Int, direction: (t["direction"] as? String) == "left" ? .left : .right))
        }
        if let p = v["padding"] as? [String: Any] {
            tok.padding = PaddingOptions(
                strategy: (p["strategy"] as! String) == "fixed" ? .fixed(p["length"] as! Int) : .longest,
                direction: (p["direction"] as? String) == "left" ? .left : .right,
                padToMultipleOf: p["multiple"] as? Int)
        }
        return tok
    }

    enum Items {
        case singles([String])
        case pairs([(String, String)])
    }

    func items(for v: [String: Any]) -> Items {
        let n = v["count"] as! Int
        switch v["set"] as! String {
        case "singles": return .singles(Array(singles[0..<n]))
        case "added-probe": return .singles(Array(addedProbe[0..<n]))
        case "pairs": return .pairs(Array(pairs[0..<n]))
        default: return .pairs(Array(qa[0..<n]))
        }
    }

    /// Encode a variant's inputs the way the reference script did (per item, or in batches
    /// where a batch fails as a whole, like HF's encode_batch).
    func encode(_ v: [String: Any], sub: Int? = nil) throws -> (Items, [Encoding?]) {
        let tok = try tokenizer(for: v, sub: sub)
        let items = items(for: v)
        let batch = v["batch"] as? Int ?? 0
        let special = v["add_special_tokens"] as? Bool ?? true
        let count: Int
        switch items {
        case .singles(let s): count = s.count
        case .pairs(let p): count = p.count
        }
        if batch > 0 {
            var out: [Encoding?] = []
            var i = 0
            while i < count {
                let r = i..<min(i + batch, count)
                let res: [Encoding]?
                switch items {
                case .singles(let s): res = try? tok.encodeBatch(Array(s[r]), addSpecialTokens: special)
                case .pairs(let p): res = try? tok.encodeBatch(pairs: Array(p[r]), addSpecialTokens: special)
                }
                out += res.map { $0.map { Optional($0) } } ?? Array(repeating: nil, count: r.count)
                i += batch
            }
            return (items, out)
        }
        return (items, parallelMap(count) { i in
            switch items {
            case .singles(let s): return try? tok.encode(s[i], addSpecialTokens: special)
            case .pairs(let p): return try? tok.encode(p[i].0, pair: p[i].1, addSpecialTokens: special)
            }
        })
    }
}

extension ParityFixture {
    /// Encodings of just the given lines of a variant (whole batches where padding needs them).
    func encodeLines(_ v: [String: Any], sub: Int?, lines: [Int]) throws -> [Int: Encoding?] {
        let batch = v["batch"] as? Int ?? 0
        var out: [Int: Encoding?] = [:]
        if batch > 0 {
            let (_, all) = try encode(v.merging(["count": min(v["count"] as! Int, (lines.max() ?? 0) / batch * batch + batch)]) { $1 }, sub: sub)
            for l in lines { out[l] = all[l] }
            return out
        }
        let tok = try tokenizer(for: v, sub: sub)
        let special = v["add_special_tokens"] as? Bool ?? true
        let items = items(for: v)
        for l in lines {
            switch items {
            case .singles(let s): out[l] = try? tok.encode(s[l], addSpecialTokens: special)
            case .pairs(let p): out[l] = try? tok.encode(p[l].0, pair: p[l].1, addSpecialTokens: special)
            }
        }
        return out
    }
}

func parallelMap<T>(_ n: Int, _ f: @escaping (Int) -> T?) -> [T?] {
    var out = [T?](repeating: nil, count: n)
    try? parallelChunks(count: n, threads: nil, work: { r in r.map(f) }, collect: { r, vals in
        for (k, i) in r.enumerated() { out[i] = vals[k] }
    })
    return out
}

/// The fixture hash of one line's encodings (see the reference script's docstring).
func fixtureHash(_ e: Encoding?) -> UInt32 { fixtureHash([e]) }

func fixtureHash(_ list: [Encoding?]) -> UInt32 {
    var h = FixtureHasher()
    for e in list {
        if let e {
            h.add(e)
            h.add(e.overflowing.count)
            for o in e.overflowing { h.add(o) }
        } else {
            h.add(-7)
        }
        h.add(-9)
    }
    return UInt32(truncatingIfNeeded: h.h >> 32)
}

struct FixtureHasher {
    var h: UInt64 = 0

    mutating func add(_ v: Int) {
        h = h &* 0x9E37_79B9_7F4A_7C15 &+ (UInt64(bitPattern: Int64(v)) &+ 0x632B_E59B_D9B4_E019)
    }

    mutating func add(_ e: Encoding) {
        add(e.count)
        for x in e.ids { add(x) }
        for x in e.typeIds { add(x) }
        for x in e.attentionMask { add(x) }
        for x in e.specialTokensMask { add(x) }
        for r in e.offsets { add(r.lowerBound) }
        for r in e.offsets { add(r.upperBound) }
        for r in e.byteOffsets { add(r.lowerBound) }
        for r in e.byteOffsets { add(r.upperBound) }
        for w in e.wordIds { add(w ?? -1) }
        for s in e.sequenceIds { add(s ?? -1) }
    }
}

func escaped(_ s: String, limit: Int = 160) -> String {
    var out = ""
    for u in s.unicodeScalars {
        if u.value < 0x20 || (0x7F..<0xA0).contains(u.value) || u.properties.generalCategory == .format {
            out += "\\u{\(String(u.value, radix: 16))}"
        } else {
            out.unicodeScalars.append(u)
        }
        if out.count > limit { return out + "…" }
    }
    return out
}
