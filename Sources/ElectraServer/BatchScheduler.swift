import Electra
import ElectraTokenizers
import Foundation

/// Dynamic batching. Requests put their encodings in a queue and wait; one loop takes, while
/// the model is busy with the previous batch, as many queued windows of one kind as fit in
/// `maxBatchTokens` (padding counted: windows x the longest) and `maxBatchRequests`, sorted by
/// length, runs them as one forward, and hands each request its rows. Requests whose client
/// went away are dropped before they are computed.
public final class BatchScheduler: @unchecked Sendable {
    /// What a forward computes: the encoder's last hidden state, or the model head's logits.
    public enum Kind: Sendable { case hidden, head }

    /// One window's output rows: `width` floats per token (hidden size, or the head's logits
    /// per token), `tokens` rows; a sequence head gives one row.
    public struct Rows: Sendable {
        public var values: [Float]
        public var tokens: Int
        public var width: Int
    }

    final class Job: @unchecked Sendable {
        let kind: Kind
        let windows: [Encoding]
        var results: [Rows?]
        var remaining: Int
        var cancelled = false
        var continuation: CheckedContinuation<[Rows], Error>?
        init(kind: Kind, windows: [Encoding]) {
            self.kind = kind
            self.windows = windows
            results = Array(repeating: nil, count: windows.count)
            remaining = windows.count
        }
    }

    struct Pending { let job: Job; let window: Int }

    let model: any ElectraHeadModel
    let padId: Int
    /// Whether the head's logits are per token ([B, L, C] or [B, L]) rather than per sequence.
    let perTokenHead: Bool
    public let maxBatchTokens: Int
    public let maxBatchRequests: Int
    let lock = NSLock()
    var queue: [Pending] = []
    var wake: CheckedContinuation<Void, Never>?
    var stopped = false
    let metrics: ServerMetrics?

    public init(model: any ElectraHeadModel, padId: Int, maxBatchTokens: Int, maxBatchRequests: Int, metrics: ServerMetrics? = nil) {
        self.model = model
        perTokenHead = !(model is ElectraForSequenceClassification)
        self.padId = padId
        self.maxBatchTokens = maxBatchTokens
        self.maxBatchRequests = maxBatchRequests
        self.metrics = metrics
    }

    /// Windows queued now (for /metrics and the 429 check).
    public var queuedWindows: Int { lock.withLock { queue.count } }

    /// Runs `windows` (each at most the model's length) and returns their rows in order.
    public func run(_ windows: [Encoding], kind: Kind) async throws -> [Rows] {
        guard !windows.isEmpty else { return [] }
        for w in windows where w.count * 1 > maxBatchTokens {
            throw ElectraError("an input of \(w.count) tokens exceeds max_batch_tokens (\(maxBatchTokens))")
        }
        let job = Job(kind: kind, windows: windows)
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

    /// Waits for work, then takes the next batch: the oldest window and others of its kind,
    /// shortest first, as many as the token and request budgets allow. Cancelled jobs are dropped here.
    func nextBatch() async -> [Pending]? {
        while true {
            let taken: [Pending]?? = lock.withLock {
                // Drop the windows of requests whose client went away.
                let dropped = queue.filter { $0.job.cancelled }
                queue.removeAll { $0.job.cancelled }
                for p in dropped where p.job.continuation != nil {
                    let c = p.job.continuation
                    p.job.continuation = nil
                    c?.resume(throwing: CancellationError())
                }
                if queue.isEmpty { return stopped ? .some(nil) : nil }
                // The oldest window always goes (no input waits forever behind shorter ones),
                // then the others of its kind, shortest first.
                let kind = queue[0].job.kind
                let candidates = [0] + queue.indices.dropFirst().filter { queue[$0].job.kind == kind }
                    .sorted { queue[$0].job.windows[queue[$0].window].count < queue[$1].job.windows[queue[$1].window].count }
                var chosen: [Int] = [], longest = 0
                for i in candidates {
                    let n = queue[i].job.windows[queue[i].window].count
                    let newLongest = max(longest, n)
                    if !chosen.isEmpty && (newLongest * (chosen.count + 1) > maxBatchTokens || chosen.count >= maxBatchRequests) { break }
                    chosen.append(i)
                    longest = newLongest
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

    func compute(_ batch: [Pending]) async {
        let encodings = batch.map { $0.job.windows[$0.window] }
        let kind = batch[0].job.kind
        let model = self.model, padId = self.padId, perToken = perTokenHead
        let started = Date()
        let outcome: Result<[Rows], Error> = await Task.detached {
            Result {
                let inputs = try ElectraInputs(encodings: encodings, padId: padId)
                let L = inputs.inputIds.shape[1]
                switch kind {
                case .hidden:
                    let h = try model.backbone(inputs).lastHiddenState!
                    let H = h.shape[h.shape.count - 1]
                    return encodings.enumerated().map { b, e in
                        Rows(values: Array(UnsafeBufferPointer(start: h.pointer + b * L * H, count: e.count * H)), tokens: e.count, width: H)
                    }
                case .head:
                    let z = try model(inputs).logits!
                    // [B, C] per sequence; [B, L, C] or [B, L] (pretraining) per token.
                    if !perToken {
                        let C = z.shape[1]
                        return encodings.indices.map { b in Rows(values: Array(UnsafeBufferPointer(start: z.pointer + b * C, count: C)), tokens: 1, width: C) }
                    }
                    let C = z.shape.count == 3 ? z.shape[2] : 1
                    return encodings.enumerated().map { b, e in
                        Rows(values: Array(UnsafeBufferPointer(start: z.pointer + b * L * C, count: e.count * C)), tokens: e.count, width: C)
                    }
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
