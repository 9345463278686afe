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

private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// Runs `body` on another thread. If it has not returned within `seconds`, `unblock` runs
/// (opening a FIFO's other end, say) and the wait goes on: a test of "never blocks" then
/// fails (`blocked`) instead of hanging the suite.
func runUnblocking<T>(within seconds: Double = 10, unblock: () -> Void, _ body: @escaping @Sendable () -> T) -> (value: T, blocked: Bool) {
    let box = ResultBox<T>(), done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        box.value = body()
        done.signal()
    }
    let blocked = done.wait(timeout: .now() + seconds) == .timedOut
    if blocked {
        unblock()
        done.wait()
    }
    return (box.value!, blocked)
}

/// Opens and closes the writing end of a FIFO: a reader blocked on it sees the end.
func releaseFIFOReader(_ path: String) {
    let w = open(path, O_WRONLY | O_NONBLOCK)
    if w >= 0 { close(w) }
}
