import Dispatch

/// Runs blocking model work on a global dispatch queue, so an async caller (a server) does
/// not hold a thread of Swift's cooperative pool for the length of a forward pass.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
