import Foundation

/// Copies tokenizer files into a model folder the package writes. A tokenizer.json loses its
/// top-level "padding" and "truncation" sections (set to null, as in Google's and HF's ELECTRA
/// files): fixed padding there makes every `encode` pad to that length, and code that forgets
/// the attention mask then silently runs on the pads. Everything else is kept byte for byte.
public enum TokenizerFileCopy {
    public static func copy(_ source: URL, to destination: URL) throws {
        var data: Data
        do { data = try Data(contentsOf: source) } catch {
            throw ElectraError("cannot read \(source.path): \(error.localizedDescription)")
        }
        if source.lastPathComponent == "tokenizer.json" {
            data = try withoutFixedShape(data, file: source.path)
        }
        try AtomicFile.write(data, to: destination)
    }

    /// The JSON text with the values of the top-level keys "padding" and "truncation" replaced by null.
    public static func withoutFixedShape(_ data: Data, file: String) throws -> Data {
        let bytes = [UInt8](data)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0, depth = 0
        // Skips a string starting at bytes[j] == '"'; returns the index after its closing quote.
        func skipString(_ j: Int) throws -> Int {
            var k = j + 1
            while k < bytes.count {
                if bytes[k] == UInt8(ascii: "\\") { k += 2; continue }
                if bytes[k] == UInt8(ascii: "\"") { return k + 1 }
                k += 1
            }
            throw ElectraError("\(file): unterminated string in tokenizer.json")
        }
        // Skips one JSON value starting at bytes[j]; returns the index just after it.
        func skipValue(_ j: Int) throws -> Int {
            guard j < bytes.count else { throw ElectraError("\(file): tokenizer.json ends inside a value") }
            switch bytes[j] {
            case UInt8(ascii: "\""):
                return try skipString(j)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var k = j, level = 0
                while k < bytes.count {
                    switch bytes[k] {
                    case UInt8(ascii: "\""): k = try skipString(k); continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): level += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        level -= 1
                        if level == 0 { return k + 1 }
                    default: break
                    }
                    k += 1
                }
                throw ElectraError("\(file): tokenizer.json ends inside a value")
            default:  // null, true, false, a number
                var k = j
                while k < bytes.count && ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t")].contains(bytes[k]) { k += 1 }
                return k
            }
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let end = try skipString(i)
                let key = String(decoding: bytes[(i + 1)..<(end - 1)], as: UTF8.self)
                out += bytes[i..<end]
                i = end
                if depth == 1 && (key == "padding" || key == "truncation") {
                    var k = i
                    while k < bytes.count && (bytes[k] == UInt8(ascii: " ") || bytes[k] == UInt8(ascii: "\n") || bytes[k] == UInt8(ascii: "\t") || bytes[k] == UInt8(ascii: "\r")) { k += 1 }
                    if k < bytes.count && bytes[k] == UInt8(ascii: ":") {
                        out += bytes[i...k]
                        k += 1
                        while k < bytes.count && bytes[k] == UInt8(ascii: " ") { out.append(bytes[k]); k += 1 }
                        out += Array("null".utf8)
                        i = try skipValue(k)
                    }
                }
                continue
            }
            if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") { depth += 1 }
            if b == UInt8(ascii: "}") || b == UInt8(ascii: "]") { depth -= 1 }
            out.append(b)
            i += 1
        }
        let result = Data(out)
        guard (try? JSONSerialization.jsonObject(with: result)) != nil else {
            throw ElectraError("\(file): is not valid JSON; cannot copy it as a tokenizer.json")
        }
        return result
    }
}
