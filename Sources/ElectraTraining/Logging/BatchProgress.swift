import Foundation

/// The progress line of a long batch inference over a file (evaluate, predict, embed):
/// items done, items per second and the time left, on stderr, redrawn at most twice a second
/// on a terminal and every 15 s otherwise, and only once the job has run for a second.
public final class BatchProgress: @unchecked Sendable {
    let total: Int
    let unit: String
    let start = Date()
    var last = Date.distantPast
    let interactive = isatty(STDERR_FILENO) != 0
    var drawn = false

    public init(total: Int, unit: String) {
        self.total = total
        self.unit = unit
    }

    public func update(_ done: Int) {
        let now = Date(), elapsed = now.timeIntervalSince(start)
        guard elapsed > 1, now.timeIntervalSince(last) > (interactive ? 0.5 : 15) || (done == total && drawn) else { return }
        last = now
        drawn = true
        let rate = Double(done) / elapsed
        let line = String(format: "%d/%d %@  %.1f %@/s  eta %.0f s", done, total, unit, rate, unit, Double(total - done) / max(rate, 1e-9))
        FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[K" + line : line + "\n").utf8))
        if done == total && interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
