import Dispatch
import Foundation

/// Number of worker threads used when none is given: all active cores.
public var defaultTokenizerThreads: Int { ProcessInfo.processInfo.activeProcessorCount }

/// Run `work` over chunks of 0..<count on `threads` workers (default: all cores), then hand each
/// chunk's result to `collect` in chunk order on the calling thread.
func parallelChunks<T>(
    count: Int, threads: Int?, work: @escaping (Range<Int>) throws -> T, collect: (Range<Int>, T) -> Void
) throws {
    if count == 0 { return }
    let workers = max(1, min(threads ?? defaultTokenizerThreads, count))
    if workers == 1 {
        collect(0..<count, try work(0..<count))
        return
    }
    let chunkCount = min(count, workers * 8)
    let ranges = (0..<chunkCount).map { c in
        (count * c / chunkCount)..<(count * (c + 1) / chunkCount)
    }
    let job = ChunkJob(work: work, ranges: ranges)
    // Workers claim the next chunk as they finish one, so a worker slowed by another thread
    // (the CLI's writer, another process) does not hold the others up at the end.
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
        while let c = job.claim() {
            job.results[c] = Result { try job.work(job.ranges[c]) }
        }
    }
    for c in 0..<chunkCount {
        collect(ranges[c], try job.results[c]!.get())
    }
}

/// Shared state of one parallel run; workers write disjoint result slots.
private final class ChunkJob<T>: @unchecked Sendable {
    let work: (Range<Int>) throws -> T
    let ranges: [Range<Int>]
    let results: UnsafeMutableBufferPointer<Result<T, Error>?>

    private let lock = NSLock()
    private var next = 0

    /// The next unclaimed chunk, or nil when all are taken.
    func claim() -> Int? {
        lock.withLock {
            guard next < ranges.count else { return nil }
            next += 1
            return next - 1
        }
    }

    init(work: @escaping (Range<Int>) throws -> T, ranges: [Range<Int>]) {
        self.work = work
        self.ranges = ranges
        results = .allocate(capacity: ranges.count)
        results.initialize(repeating: nil)
    }

    deinit {
        _ = results.deinitialize()
        results.deallocate()
    }
}

/// Hands non-Sendable state to worker threads that touch disjoint parts of it.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
