import Electra
import Foundation

/// Appends one JSON object per line to `metrics.jsonl` (flushed each write, so a killed run
/// keeps every line it logged).
public final class MetricsLog {
    public let url: URL
    private let handle: FileHandle

    public init(url: URL) throws {
        self.url = url
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw ElectraError("cannot create \(url.path)")
            }
        }
        do { handle = try FileHandle(forWritingTo: url) } catch {
            throw ElectraError("cannot open \(url.path): \(error.localizedDescription)")
        }
        handle.seekToEndOfFile()
    }

    /// The log of a run resumed at `step`: the records the stopped run wrote after its last
    /// checkpoint (it was killed, or stopped between saves) and a line cut short by a kill are
    /// dropped first, so the resumed run's records follow the checkpoint's without repeats.
    public convenience init(url: URL, resumingAt step: Int) throws {
        if let data = FileManager.default.contents(atPath: url.path) {
            var kept = Data()
            for line in data.split(separator: 0x0A) {
                guard let record = try? JSONValue.parse(Data(line), source: "").objectValue else { continue }
                if let s = record["step"]?.doubleValue, s > Double(step) { continue }
                kept.append(contentsOf: line)
                kept.append(0x0A)
            }
            if kept != data { try AtomicFile.write(kept, to: url) }
        }
        try self.init(url: url)
    }

    deinit { try? handle.close() }

    private var failed = false

    /// One record (non-finite values as null). A failed write (a full disk) is reported
    /// once on stderr and training goes on: the checkpoints, not the log, hold the run.
    public func append(_ record: [String: Double], kind: String) {
        var o: [String: JSONValue] = record.mapValues { $0.isFinite ? .number($0) : .null }
        o["kind"] = .string(kind)
        o["time"] = .number(Date().timeIntervalSince1970)
        guard var line = try? JSONValue.object(o).serialized(pretty: false) else { return }
        line.append(0x0A)
        do {
            try handle.write(contentsOf: line)
        } catch {
            if !failed { FileHandle.standardError.write(Data("warning: cannot write to \(url.path) (\(ElectraError(describing: error).message)); training goes on without its records\n".utf8)) }
            failed = true
        }
    }

    /// Whether the file holds a record of `kind`.
    public func contains(kind: String) -> Bool {
        Self.read(url).contains { $0["kind"]?.stringValue == kind }
    }

    /// Reads every record of a metrics file (for plots and resumed runs).
    public static func read(_ url: URL) -> [[String: JSONValue]] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONValue.parse(Data($0.utf8), source: "").objectValue }
    }
}

/// A single-line live progress display: step, epoch, loss, the task's own values, learning
/// rate, tokens/s, ETA.
public struct ProgressLine {
    /// nil while unknown (a time-budgeted run before its pace is measured).
    let total: Int?
    let start: Date
    /// Seconds spent before `start` by earlier sessions of a resumed run (shown in elapsed).
    let priorSeconds: Double
    /// The step the run started from (a resumed run's ETA counts only its own steps).
    let firstStep: Int
    var lastPrint = Date.distantPast
    let interactive = isatty(STDERR_FILENO) != 0

    /// When the run must end (a time budget): the ETA never goes past it.
    let deadline: Date?

    /// A data-parallel job's world size: tokens/s are the whole job's, and the line says so.
    public var ranks = 1

    public init(totalSteps: Int?, started: Date = Date(), firstStep: Int = 0, priorSeconds: Double = 0, deadline: Date? = nil) {
        total = totalSteps
        start = started
        self.priorSeconds = priorSeconds
        self.firstStep = firstStep
        self.deadline = deadline
    }

    public mutating func update(step: Int, epoch: Double, loss: Double, learningRate: Double, tokensPerSecond: Double,
                                extras: [(key: String, value: Double)] = [], force: Bool = false) {
        let now = Date()
        guard force || now.timeIntervalSince(lastPrint) > (interactive ? 0.5 : 15) || step == total else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        var eta = step > firstStep ? elapsed / Double(step - firstStep) * Double((total ?? step) - step) : 0
        if let deadline { eta = total == nil ? max(0, deadline.timeIntervalSince(now)) : min(eta, max(0, deadline.timeIntervalSince(now))) }
        let more = extras.map { String(format: "  %@ %.4f", $0.key, $0.value) }.joined()
        let world = ranks > 1 ? " over \(ranks) ranks" : ""
        let line = "step \(step)/\(total.map(String.init) ?? "?")  " + String(format: "epoch %.2f  loss %.4f%@  lr %.2e  %.0f tok/s%@  elapsed %@  eta %@",
                          epoch, loss, more, learningRate, tokensPerSecond, world, Self.clock(priorSeconds + elapsed), Self.clock(eta))
        FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    public func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    public static func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
