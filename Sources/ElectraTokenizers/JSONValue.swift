// A small JSON parser for tokenizer files. Foundation's JSONSerialization plus bridging casts
// took ~0.25 s for a 30k-entry tokenizer.json on Linux (most of a short CLI run); this takes
// a few milliseconds and reports the byte offset of syntax errors.

enum JSONValue {
    case null
    case bool(Bool)
    case number(Double, isInteger: Bool)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue], keys: [String])

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Foundation-like view used by the loading code (`[String: Any]`, `[Any]`, `Int`, ...).
    var any: Any {
        switch self {
        case .null: return JSONNull()
        case .bool(let b): return b
        case .number(let d, let isInt): return isInt ? (Int(exactly: d).map { $0 as Any } ?? d) : d
        case .string(let s): return s
        case .array(let a): return a.map(\.any)
        case .object(let o, _): return o.mapValues(\.any)
        }
    }
}

struct JSONNull {}

struct JSONSyntaxError: Error, CustomStringConvertible {
    let offset: Int
    let message: String
    var description: String { "\(message) at byte \(offset)" }
}

struct JSONParser {
    private let p: UnsafeBufferPointer<UInt8>
    private var i = 0

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { buf in
            var parser = JSONParser(p: buf)
            parser.skipSpace()
            let v = try parser.value(depth: 0)
            parser.skipSpace()
            if parser.i != buf.count { throw JSONSyntaxError(offset: parser.i, message: "trailing characters") }
            return v
        }
    }

    private init(p: UnsafeBufferPointer<UInt8>) { self.p = p }

    private mutating func skipSpace() {
        while i < p.count, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
    }

    private func fail(_ m: String) -> JSONSyntaxError { JSONSyntaxError(offset: i, message: m) }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 512 else { throw fail("nesting too deep") }
        guard i < p.count else { throw fail("unexpected end of input") }
        switch p[i] {
        case 0x7B: return try object(depth: depth)
        case 0x5B: return try array(depth: depth)
        case 0x22: return .string(try string())
        case 0x74: try literal("true"); return .bool(true)
        case 0x66: try literal("false"); return .bool(false)
        case 0x6E: try literal("null"); return .null
        default: return try number()
        }
    }

    private mutating func literal(_ word: String) throws {
        for b in word.utf8 {
            guard i < p.count, p[i] == b else { throw fail("invalid literal") }
            i += 1
        }
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        i += 1
        // Pairs first, the dictionary once at its final size: a 30k-entry vocabulary grown
        // by insertion was rehashed ~15 times (a tenth of `electra tokenize`'s start-up).
        var keys: [String] = []
        var values: [JSONValue] = []
        skipSpace()
        if i < p.count, p[i] == 0x7D {
            i += 1
            return .object([:], keys: keys)
        }
        while true {
            skipSpace()
            guard i < p.count, p[i] == 0x22 else { throw fail("expected a string key") }
            keys.append(try string())
            skipSpace()
            guard i < p.count, p[i] == 0x3A else { throw fail("expected ':'") }
            i += 1
            skipSpace()
            values.append(try value(depth: depth + 1))
            skipSpace()
            guard i < p.count else { throw fail("unterminated object") }
            if p[i] == 0x2C { i += 1; continue }
            if p[i] == 0x7D { i += 1; break }
            throw fail("expected ',' or '}'")
        }
        // A repeated key keeps its first position and its last value.
        var dict = [String: JSONValue](minimumCapacity: keys.count)
        var unique: [String] = []
        unique.reserveCapacity(keys.count)
        for (k, v) in zip(keys, values) where dict.updateValue(v, forKey: k) == nil { unique.append(k) }
        return .object(dict, keys: unique)
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        i += 1
        var out: [JSONValue] = []
        skipSpace()
        if i < p.count, p[i] == 0x5D {
            i += 1
            return .array(out)
        }
        while true {
            skipSpace()
            out.append(try value(depth: depth + 1))
            skipSpace()
            guard i < p.count else { throw fail("unterminated array") }
            if p[i] == 0x2C { i += 1; continue }
            if p[i] == 0x5D { i += 1; return .array(out) }
            throw fail("expected ',' or ']'")
        }
    }

    private mutating func number() throws -> JSONValue {
        let start = i
        var isInt = true
        if i < p.count, p[i] == 0x2D { i += 1 }
        while i < p.count {
            let b = p[i]
            if b >= 0x30 && b <= 0x39 {
                i += 1
            } else if b == 0x2E || b == 0x65 || b == 0x45 || b == 0x2B || b == 0x2D {
                isInt = false
                i += 1
            } else {
                break
            }
        }
        guard i > start else { throw fail("unexpected character") }
        let text = String(decoding: UnsafeBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
        if isInt, let v = Int(text) { return .number(Double(v), isInteger: true) }
        guard let d = Double(text) else { throw JSONSyntaxError(offset: start, message: "invalid number") }
        return .number(d, isInteger: false)
    }

    private mutating func string() throws -> String {
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < p.count, p[i] != 0x22, p[i] != 0x5C { i += 1 }
        guard i < p.count else { throw fail("unterminated string") }
        if p[i] == 0x22 {
            let s = try utf8(start, i)
            i += 1
            return s
        }
        var bytes = Array(p[start..<i])
        while true {
            guard i < p.count else { throw fail("unterminated string") }
            let b = p[i]
            if b == 0x22 {
                i += 1
                break
            }
            if b != 0x5C {
                bytes.append(b)
                i += 1
                continue
            }
            i += 1
            guard i < p.count else { throw fail("unterminated escape") }
            let e = p[i]
            i += 1
            switch e {
            case 0x22: bytes.append(0x22)
            case 0x5C: bytes.append(0x5C)
            case 0x2F: bytes.append(0x2F)
            case 0x62: bytes.append(0x08)
            case 0x66: bytes.append(0x0C)
            case 0x6E: bytes.append(0x0A)
            case 0x72: bytes.append(0x0D)
            case 0x74: bytes.append(0x09)
            case 0x75:
                var u = try hex4()
                if (0xD800..<0xDC00).contains(u), i + 1 < p.count, p[i] == 0x5C, p[i + 1] == 0x75 {
                    i += 2
                    let lo = try hex4()
                    guard (0xDC00..<0xE000).contains(lo) else { throw fail("invalid surrogate pair") }
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(u) else { throw fail("invalid \\u escape") }
                bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw fail("invalid escape")
            }
        }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw fail("invalid UTF-8 in string") }
        return s
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= p.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = p[i]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw fail("invalid hex digit")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private func utf8(_ a: Int, _ b: Int) throws -> String {
        guard let s = String(validating: UnsafeBufferPointer(rebasing: p[a..<b]), as: UTF8.self) else {
            throw JSONSyntaxError(offset: a, message: "invalid UTF-8 in string")
        }
        return s
    }
}
