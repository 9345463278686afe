import Electra
import ElectraTokenizers
import Foundation

/// Dynamic batching. Requests put their encodings in a queue and wait; one loop takes, while
/// the model is busy with the previous batch, as many queued windows of one kind as fit in
/// `maxBatchTokens` and `maxBatchRequests`, runs them as one packed forward (no padding), and
/// hands each request its rows.
/// Requests whose client went away are dropped before they are computed.
public final class BatchScheduler: @unchecked Sendable {
    /// What a forward computes: the encoder's last hidden state, or the model head's logits.
    public enum Kind: Sendable { case hidden, head }

    /// One window's output rows: `width` floats per token (hidden size, or the head's logits
    /// per token; a QA head's start and end logits interleaved, width 2), `tokens` rows (only
    /// the positions a request asked for, when it did); a sequence head gives one row.
    public struct Rows: Sendable {
        public var values: [Float]
        public var tokens: Int
        public var width: Int
    }

    final class Job: @unchecked Sendable {
        let kind: Kind
        let windows: [Encoding]
        /// Per window, the token positions whose rows are wanted (nil: every token).
        let positions: [[Int]]?
        var results: [Rows?]
        var remaining: Int
        var cancelled = false
        /// The client's connection (nil for callers without one): gone means drop unanswered.
        let connection: ClientConnection?
        var continuation: CheckedContinuation<[Rows], Error>?
        var abandoned: Bool { cancelled || connection?.isGone == true }
        init(kind: Kind, windows: [Encoding], positions: [[Int]]?, connection: ClientConnection?) {
            self.kind = kind
            self.windows = windows
            self.positions = positions
            self.connection = connection
            results = Array(repeating: nil, count: windows.count)
            remaining = windows.count
        }
    }

    struct Pending {
        let job: Job
        let window: Int
        var length: Int { job.windows[window].count }
    }

    let model: any ElectraHeadModel
    /// Whether the head's logits are per token ([B, L, C] or [B, L]) rather than per sequence.
    let perTokenHead: Bool
    public let maxBatchTokens: Int
    public let maxBatchRequests: Int
    let lock = NSLock()
    var queue: [Pending] = []
    var wake: CheckedContinuation<Void, Never>?
    var stopped = false
    let metrics: ServerMetrics?

    public init(model: any ElectraHeadModel, maxBatchTokens: Int, maxBatchRequests: Int, metrics: ServerMetrics? = nil) {
        self.model = model
        perTokenHead = !(model is ElectraForSequenceClassification)
        self.maxBatchTokens = maxBatchTokens
        self.maxBatchRequests = maxBatchRequests
        self.metrics = metrics
    }

    /// Windows queued now (for /metrics and the 429 check).
    public var queuedWindows: Int { lock.withLock { queue.count } }

    /// Runs `windows` (each at most the model's length) and returns their rows in order; with
    /// `positions`, only those tokens' rows of each window (a fill-mask needs its masks' logits
    /// over the vocabulary, not every token's). Throws
    /// `CancellationError`, unanswered, when the task is cancelled or the client of
    /// `ClientConnection.current` goes away before its windows are taken into a batch.
    public func run(_ windows: [Encoding], kind: Kind, positions: [[Int]]? = nil) async throws -> [Rows] {
        guard !windows.isEmpty else { return [] }
        if let positions {
            guard positions.count == windows.count else { throw ElectraError("one list of positions per window: \(positions.count) for \(windows.count) windows") }
            for (w, keep) in positions.enumerated() where keep.contains(where: { $0 < 0 || $0 >= windows[w].count }) {
                throw ElectraError("a position of window \(w) is outside its \(windows[w].count) tokens")
            }
        }
        for w in windows where w.count > maxBatchTokens {
            throw ElectraError("an input of \(w.count) tokens exceeds max_batch_tokens (\(maxBatchTokens))")
        }
        let job = Job(kind: kind, windows: windows, positions: positions, connection: ClientConnection.current)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<[Rows], Error>) in
                lock.withLock {
                    job.continuation = c
                    if job.cancelled {
                        job.continuation = nil
                        c.resume(throwing: CancellationError())
                        return
                    }
                    for i in windows.indices { queue.append(Pending(job: job, window: i)) }
                    metrics?.queue(queue.count)
                    let w = wake
                    wake = nil
                    w?.resume()
                }
            }
        } onCancel: {
            lock.withLock { job.cancelled = true }
        }
    }

    /// The batching loop; returns when `stop()` is called and the queue is empty.
    public func loop() async {
        while true {
            let batch: [Pending]? = await nextBatch()
            guard let batch else { return }
            if batch.isEmpty { continue }
            await compute(batch)
        }
    }

    public func stop() {
        lock.withLock {
            stopped = true
            let w = wake
            wake = nil
            w?.resume()
        }
    }

    /// Waits for work, then takes the next batch: the oldest windows of one kind, in arrival
    /// order, as many as the token and request budgets allow (packed: every token is real).
    /// Cancelled jobs are dropped here.
    func nextBatch() async -> [Pending]? {
        while true {
            let taken: [Pending]?? = lock.withLock {
                // Drop the windows of requests whose client went away (or whose task was cancelled).
                let dropped = queue.filter { $0.job.abandoned }
                if !dropped.isEmpty { queue.removeAll { $0.job.abandoned } }
                for p in dropped where p.job.continuation != nil {
                    let c = p.job.continuation
                    p.job.continuation = nil
                    metrics?.dropped()
                    c?.resume(throwing: CancellationError())
                }
                if queue.isEmpty { return stopped ? .some(nil) : nil }
                // Windows of the oldest window's kind in arrival order: a request's windows
                // go together, so it is answered after one forward (taking the shortest first
                // scattered an 8-passage rerank over many batches).
                let kind = queue[0].job.kind
                let candidates = queue.indices.filter { queue[$0].job.kind == kind }
                var chosen: [Int] = [], tokens = 0
                for i in candidates {
                    let n = queue[i].length
                    if !chosen.isEmpty && (tokens + n > maxBatchTokens || chosen.count >= maxBatchRequests) { break }
                    chosen.append(i)
                    tokens += n
                }
                let set = Set(chosen)
                let batch = chosen.map { queue[$0] }
                queue = queue.indices.filter { !set.contains($0) }.map { queue[$0] }
                metrics?.queue(queue.count)
                return .some(batch)
            }
            if let taken { return taken }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.withLock {
                    if !queue.isEmpty || stopped { c.resume() } else { wake = c }
                }
            }
        }
    }

    /// One packed forward over `batch` (ElectraInputs(packing:): no padding, each window
    /// attends only within itself); each request gets its rows as soon as it ends.
    func compute(_ batch: [Pending]) async {
        let encodings = batch.map { $0.job.windows[$0.window] }
        let wanted = batch.map { p in p.job.positions?[p.window] }
        let kind = batch[0].job.kind
        let model = self.model, perToken = perTokenHead
        let started = Date()
        let outcome: Result<[Rows], Error> = await Task.detached {
            Result {
                let inputs = try ElectraInputs(packing: encodings)
                var offsets = [0]
                for e in encodings { offsets.append(offsets.last! + e.count) }
                // Window b's tokens (or its wanted positions) of a packed [1, N, width] tensor.
                func rows(_ base: UnsafeMutablePointer<Float>, width: Int) -> [Rows] {
                    encodings.enumerated().map { b, e in
                        let start = base + offsets[b] * width
                        guard let keep = wanted[b] else {
                            return Rows(values: Array(UnsafeBufferPointer(start: start, count: e.count * width)), tokens: e.count, width: width)
                        }
                        var values: [Float] = []
                        values.reserveCapacity(keep.count * width)
                        for t in keep { values += UnsafeBufferPointer(start: start + t * width, count: width) }
                        return Rows(values: values, tokens: keep.count, width: width)
                    }
                }
                switch kind {
                case .hidden:
                    let h = try model.backbone(inputs).lastHiddenState!
                    return rows(h.pointer, width: h.shape[h.shape.count - 1])
                case .head:
                    // A generator asked for some positions only (fill-mask): its prediction
                    // layers run at those rows, never over [N, vocabulary].
                    if let mlm = model as? ElectraForMaskedLM, wanted.allSatisfy({ $0 != nil }) {
                        let flat = wanted.enumerated().flatMap { b, keep in keep!.map { offsets[b] + $0 } }
                        let z = try mlm.maskedLMLogits(inputs, positions: flat)
                        let V = z.shape[1]
                        var first = 0
                        return wanted.map { keep in
                            defer { first += keep!.count }
                            return Rows(values: Array(UnsafeBufferPointer(start: z.pointer + first * V, count: keep!.count * V)), tokens: keep!.count, width: V)
                        }
                    }
                    let out = try model(inputs)
                    // A QA head: start and end logits [1, N] each, interleaved per token.
                    if out.logits == nil, let s = out.startLogits, let e = out.endLogits {
                        var both = [Float](repeating: 0, count: offsets.last! * 2)
                        for i in 0..<offsets.last! {
                            both[2 * i] = s.pointer[i]
                            both[2 * i + 1] = e.pointer[i]
                        }
                        return both.withUnsafeMutableBufferPointer { rows($0.baseAddress!, width: 2) }
                    }
                    guard let z = out.logits else { throw ElectraError("the model's head gives no logits") }
                    // [windows, C] per sequence; [1, N, C] or [1, N] (pretraining) per token.
                    if !perToken {
                        let C = z.shape[1]
                        return encodings.indices.map { b in Rows(values: Array(UnsafeBufferPointer(start: z.pointer + b * C, count: C)), tokens: 1, width: C) }
                    }
                    return rows(z.pointer, width: z.shape.count == 3 ? z.shape[2] : 1)
                }
            }
        }.value
        metrics?.batch(size: batch.count, tokens: encodings.reduce(0) { $0 + $1.count }, seconds: Date().timeIntervalSince(started))
        lock.withLock {
            for (k, p) in batch.enumerated() {
                let job = p.job
                guard let c = job.continuation else { continue }
                switch outcome {
                case .success(let rows):
                    job.results[p.window] = rows[k]
                    job.remaining -= 1
                    if job.remaining == 0 {
                        job.continuation = nil
                        c.resume(returning: job.results.map { $0! })
                    }
                case .failure(let e):
                    job.continuation = nil
                    c.resume(throwing: e)
                }
            }
        }
    }
}
