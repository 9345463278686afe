import Foundation

@testable import Electra

/// The message of the ElectraError `body` throws, "no error", or a note that it threw
/// something else: lets a test compare whole messages.
func errorMessage(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch let e as ElectraError {
        return e.message
    } catch {
        return "not an ElectraError: \(error)"
    }
}

/// A new empty folder under the temporary directory; the caller removes it.
func makeTempFolder(_ tag: String) throws -> URL {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("electra-\(tag)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
}
