import Foundation

/// Every failure a user can cause, with a message that names the file, field or tensor.
public struct ElectraError: Error, CustomStringConvertible, LocalizedError, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
