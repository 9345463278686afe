import ElectraPipelines
import Foundation

/// Writes response values: ordered objects keep their key order, dictionaries are sorted,
/// numbers print as Swift's shortest round-trip form (as Rust's serde and Python print floats).
enum JSONWriter {
    static func write(_ value: Any) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    static func write(_ value: Any, into out: inout String) {
        switch value {
        case let o as OrderedObject:
            out += "{"
            for (i, (k, v)) in o.fields.enumerated() {
                if i > 0 { out += "," }
                PipelineJSON.string(k).write(into: &out)
                out += ":"
                write(v, into: &out)
            }
            out += "}"
        case let r as RawJSON:
            out += r.value.serialized
        case let d as [String: Any]:
            out += "{"
            for (i, k) in d.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                PipelineJSON.string(k).write(into: &out)
                out += ":"
                write(d[k]!, into: &out)
            }
            out += "}"
        case let a as [Any]:
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                write(v, into: &out)
            }
            out += "]"
        case let s as String: PipelineJSON.string(s).write(into: &out)
        case let b as Bool: out += b ? "true" : "false"
        case let i as Int: out += String(i)
        case let d as Double: out += d.isFinite ? "\(d)" : "null"
        case let f as Float: out += f.isFinite ? "\(Double(f))" : "null"
        case is NSNull: out += "null"
        default: out += "null"
        }
    }
}
