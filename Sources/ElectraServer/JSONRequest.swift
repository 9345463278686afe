import Foundation

/// A request body parsed as a JSON object, with accessors that say which field is wrong.
struct JSONRequest {
    let fields: [String: Any]

    init(_ data: Data) throws {
        guard !data.isEmpty else { throw APIError.field("the request body is empty; send a JSON object") }
        let value: Any
        do { value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            throw APIError.field("the request body is not valid JSON: \((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)")")
        }
        guard let object = value as? [String: Any] else { throw APIError.field("the request body must be a JSON object") }
        fields = object
    }

    func has(_ key: String) -> Bool { fields[key] != nil && !(fields[key] is NSNull) }

    func bool(_ key: String, default d: Bool) throws -> Bool {
        guard has(key) else { return d }
        guard let n = fields[key] as? NSNumber, Self.isBool(n) else {
            throw APIError.field("`\(key)` must be true or false")
        }
        return n.boolValue
    }

    /// JSON true/false (JSONSerialization boxes them as char-typed numbers), not 0 or 1.
    static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    /// A JSON integer: not a boolean, no fraction, within Int (1.5 or 2.6e-42 is not a token id).
    static func isInteger(_ n: NSNumber) -> Bool { !isBool(n) && n.doubleValue == n.doubleValue.rounded() && abs(n.doubleValue) < 1e15 }

    func int(_ key: String) throws -> Int? {
        guard has(key) else { return nil }
        guard let n = fields[key] as? NSNumber, Self.isInteger(n) else {
            throw APIError.field("`\(key)` must be an integer (below 10^15)")
        }
        return n.intValue
    }

    func string(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        guard let s = fields[key] as? String else { throw APIError.field("`\(key)` must be a string") }
        return s
    }

    func requiredString(_ key: String) throws -> String {
        guard let s = try string(key) else { throw APIError.field("missing field `\(key)`") }
        return s
    }

    func strings(_ key: String) throws -> [String]? {
        guard has(key) else { return nil }
        guard let list = fields[key] as? [Any], list.allSatisfy({ $0 is String }) else { throw APIError.field("`\(key)` must be a list of strings") }
        return list as? [String] ?? []
    }

    /// TEI's `inputs`: a string or a list of strings (token-id inputs are not accepted here).
    func texts(_ key: String) throws -> (texts: [String], single: Bool) {
        guard has(key) else { throw APIError.field("missing field `\(key)`") }
        if let s = fields[key] as? String { return ([s], true) }
        guard let list = fields[key] as? [Any] else { throw APIError.field("`\(key)` must be a string or a list of strings") }
        guard list.allSatisfy({ $0 is String }) else { throw APIError.field("`\(key)` must be a string or a list of strings (token ids are not accepted)") }
        return (list as! [String], false)
    }

    /// "Right" (default) or "Left", any case.
    func truncationDirection() throws -> Bool {
        guard let s = try string("truncation_direction") else { return false }
        switch s.lowercased() {
        case "right": return false
        case "left": return true
        default: throw APIError.field("`truncation_direction` must be Right or Left, got '\(s)'")
        }
    }
}
