import Foundation
#if canImport(CBLAS)
import CBLAS
#endif

/// Thread settings for every kernel. BLAS itself runs single-threaded; we split work into
/// `threads` chunks ourselves, so BLAS's spinning worker threads never compete with ours.
public enum Parallel {
    nonisolated(unsafe) private static var _threads: Int = {
        configureBLAS()
        if let s = ProcessInfo.processInfo.environment["ELECTRA_NUM_THREADS"], let n = Int(s), n > 0 {
            return n
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Number of worker chunks used by parallel kernels (default: active cores, or
    /// ELECTRA_NUM_THREADS); `withThreads` overrides it for the calling thread.
    public static var threads: Int {
        get {
            if let p = pthread_getspecific(overrideKey) { return Int(bitPattern: p) }
            return _threads
        }
        set { _threads = max(1, newValue) }
    }

    /// The calling thread's override of `threads` (tests that compare thread counts run
    /// beside other tests: a process-wide change would reach them).
    private static let overrideKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Runs `body` with `threads` = n on this thread only (kernels read it on the calling thread).
    public static func withThreads<R>(_ n: Int, _ body: () throws -> R) rethrows -> R {
        let previous = pthread_getspecific(overrideKey)
        pthread_setspecific(overrideKey, UnsafeRawPointer(bitPattern: max(1, n)))
        defer { pthread_setspecific(overrideKey, previous) }
        return try body()
    }

    private static func configureBLAS() {
        _ = BLASCore.choice  // the kernels first: re-initialising resets OpenBLAS's settings
        #if canImport(CBLAS)
        openblas_set_num_threads(1)
        #endif
    }

    nonisolated(unsafe) private static var pools: [Int: ThreadPool] = [:]
    private static let poolLock = NSLock()

    /// The pool for `chunks - 1` workers (the caller is the last worker), made on first use.
    private static func pool(for chunks: Int) -> ThreadPool {
        poolLock.lock()
        defer { poolLock.unlock() }
        if let p = pools[chunks - 1] { return p }
        let p = ThreadPool(workers: chunks - 1)
        pools[chunks - 1] = p  // pools for other counts stay parked; counts rarely change
        return p
    }

    /// Runs `body(chunk, range)` over `0..<count` split into at most `threads` contiguous
    /// ranges (and at most `maxChunks`, for callers whose per-chunk scratch was sized for a
    /// given thread count: the chunk index is always below it). Runs inline when the work is
    /// too small to pay for a thread hop.
    @inline(__always)
    public static func forRanges(
        _ count: Int, minChunk: Int = 1, maxChunks: Int = .max, _ body: (Int, Range<Int>) -> Void
    ) {
        let chunks = min(threads, maxChunks, max(1, count / max(minChunk, 1)))
        split(count, into: chunks, threads: chunks) { _, c, range in body(c, range) }
    }

    /// Runs `body(worker, range)` over `0..<count` cut into up to `perThread` chunks per
    /// thread (each at least `minChunk` long) that threads take as they become free, so a
    /// thread slowed by the machine takes fewer instead of everyone waiting for it (on this
    /// project's VM the second core ran the same work 5-10% slower). `worker` (< `threads`)
    /// names the thread, for per-thread scratch sized for `maxThreads` (at most that many
    /// threads take part); which ranges a worker gets varies from run to run, so reductions
    /// that must be deterministic belong in `forRanges`.
    @inline(__always)
    public static func forChunks(
        _ count: Int, minChunk: Int = 1, perThread: Int = 4, maxThreads: Int = .max,
        _ body: (_ worker: Int, Range<Int>) -> Void
    ) {
        let t = min(threads, max(1, maxThreads))
        let most = max(1, count / max(minChunk, 1))
        // Whole multiples of the thread count: 3 chunks on 2 threads would leave one idle
        // for a third of the time.
        let chunks = most < t ? most : t * max(1, min(perThread, most / t))
        split(count, into: chunks, threads: t) { worker, _, range in body(worker, range) }
    }

    /// `0..<count` as `chunks` equal contiguous ranges run on up to `threads` threads:
    /// body(worker, chunk, range); inline when there is one chunk.
    @inline(__always)
    private static func split(
        _ count: Int, into chunks: Int, threads: Int, _ body: (_ worker: Int, _ chunk: Int, Range<Int>) -> Void
    ) {
        if chunks <= 1 || count <= 1 {
            body(0, 0, 0..<count)
            return
        }
        let per = (count + chunks - 1) / chunks
        pool(for: threads).run(chunks) { worker, c in
            let lo = c * per
            let hi = min(count, lo + per)
            if lo < hi { body(worker, c, lo..<hi) }
        }
    }
}
