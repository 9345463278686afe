import Foundation

/// TEI's error body, `{"error": ..., "error_type": ...}`, and its statuses: Validation 413 (TEI
/// up to 1.8; a malformed field is 422), Tokenizer 422, Empty 400, Overloaded 429, Backend 424,
/// Unhealthy 503; 401 for a missing or wrong API key (empty body, as TEI).
public struct APIError: Error, Sendable {
    public enum Kind: String, Sendable { case Validation, Tokenizer, Empty, Overloaded, Backend, Unhealthy }
    public var status: Int
    public var kind: Kind
    public var message: String

    public init(_ status: Int, _ kind: Kind, _ message: String) {
        self.status = status
        self.kind = kind
        self.message = message
    }

    static func validation(_ m: String) -> APIError { APIError(413, .Validation, m) }
    /// A field with the wrong type or value: 422, naming the field.
    static func field(_ m: String) -> APIError { APIError(422, .Validation, m) }
    static func empty(_ m: String) -> APIError { APIError(400, .Empty, m) }
    static func backend(_ m: String) -> APIError { APIError(424, .Backend, m) }
    static let overloaded = APIError(429, .Overloaded, "Model is overloaded")

    var body: String { JSONWriter.write(OrderedObject([("error", message), ("error_type", kind.rawValue)])) }
}
