import Foundation

/// JSON with keys in a fixed order, for printing pipeline results exactly as HF's `pipeline()`
/// returns them (Python dicts keep insertion order; json.dumps prints floats by repr, which
/// Swift's shortest round-trip `description` matches).
public indirect enum PipelineJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case array([PipelineJSON])
    case object([Field])

    public struct Field: Sendable, Equatable {
        public var key: String
        public var value: PipelineJSON
        public init(_ key: String, _ value: PipelineJSON) { self.key = key; self.value = value }
    }

    /// Compact JSON, UTF-8 (not \u-escaped), keys in order.
    public var serialized: String {
        var out = ""
        write(into: &out)
        return out
    }

    public func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .number(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d > 0 ? "Infinity" : "-Infinity" } else { out += "\(d)" }
        case .string(let s): Self.quote(s, into: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += ", " }
                v.write(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, f) in fields.enumerated() {
                if i > 0 { out += ", " }
                Self.quote(f.key, into: &out)
                out += ": "
                f.value.write(into: &out)
            }
            out += "}"
        }
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        out += "\""
    }

    /// A float score as Python prints a numpy float32 turned into a float.
    static func score(_ x: Float) -> PipelineJSON { .number(Double(x)) }
}
