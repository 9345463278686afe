import Foundation

/// Every failure a user can cause, with a message that names the file, field or tensor.
public struct ElectraError: Error, CustomStringConvertible, LocalizedError, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}

extension ElectraError {
    /// The message for an error that is not an ElectraError (Foundation's file-system errors
    /// above all): the path it names and the system's reason, as in "cannot create
    /// /data/out: Permission denied", instead of NSError's dump.
    public init(describing error: any Error) {
        if let e = error as? ElectraError {
            self = e
            return
        }
        let ns = error as NSError
        let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        var reason = ns.localizedDescription
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? POSIXError {
            reason = String(cString: strerror(posix.code.rawValue))
        } else if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(underlying.code)))
        } else if ns.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(ns.code)))
        }
        let prefix = "The operation could not be completed. "
        if reason.hasPrefix(prefix) { reason.removeFirst(prefix.count) }
        self.init(path.map { "\($0): \(reason)" } ?? reason)
    }
}

extension FileManager {
    /// `createDirectory` (parents included) whose failure names the folder and the reason.
    public func createFolder(at url: URL) throws {
        do {
            try createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw ElectraError("cannot create the folder \(url.path): \(ElectraError(describing: error).message)")
        }
    }
}
