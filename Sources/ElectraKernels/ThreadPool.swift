import Foundation
import Synchronization

/// A fixed pool of worker threads that spin briefly between jobs, then park.
///
/// Why not DispatchQueue.concurrentPerform: a forward pass issues ~10 parallel regions per
/// layer, and waking libdispatch workers costs tens of microseconds each, which dominated
/// small-batch latency (B1 L16: 12 ms, mostly waiting). A spinning worker picks a job up in
/// well under a microsecond. Workers park after `spinLimit` idle polls, so an idle process
/// burns no CPU.
final class ThreadPool: @unchecked Sendable {
    let workerCount: Int
    private let generation = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    /// Address of the current JobBox (0 when none) and the number of workers looking at it.
    /// The caller clears the address, then waits for `active` to reach zero, so no worker
    /// holds the job after `run` returns (the body is only borrowed).
    private let jobAddress = Atomic<Int>(0)
    private let active = Atomic<Int>(0)
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var sleepers = 0
    private let spinLimit = 200_000

    init(workers: Int) {
        workerCount = workers
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        for w in 0..<workers {
            let t = Thread { [unowned self] in self.workerLoop(worker: w + 1) }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Runs body(worker, chunk) for every chunk in 0..<count on the caller (worker 0) plus
    /// the pool's threads (workers 1...workerCount), each taking the next chunk when free, so
    /// a slower thread simply takes fewer. Returns when all are done. Re-entrant or
    /// concurrent calls run inline on the calling thread as worker 0.
    func run(_ count: Int, _ body: (_ worker: Int, _ chunk: Int) -> Void) {
        if count <= 1 || workerCount == 0 || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            for i in 0..<count { body(0, i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = JobBox(body, count)
            nextChunk.store(0, ordering: .relaxed)
            finished.store(0, ordering: .relaxed)
            jobAddress.store(Int(bitPattern: Unmanaged.passUnretained(box).toOpaque()), ordering: .sequentiallyConsistent)
            generation.wrappingAdd(1, ordering: .releasing)
            pthread_mutex_lock(&mutex)
            if sleepers > 0 { pthread_cond_broadcast(&wake) }
            pthread_mutex_unlock(&mutex)
            drain(box, worker: 0)
            while finished.load(ordering: .acquiring) < count { spinHint() }
            jobAddress.store(0, ordering: .sequentiallyConsistent)
            while active.load(ordering: .sequentiallyConsistent) > 0 { spinHint() }
        }
        busy.store(false, ordering: .releasing)
    }

    private func drain(_ box: JobBox, worker: Int) {
        while true {
            let i = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= box.count { return }
            box.body(worker, i)
            finished.wrappingAdd(1, ordering: .releasing)
        }
    }

    private func workerLoop(worker: Int) {
        var seen = generation.load(ordering: .acquiring)
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                if spins < spinLimit {
                    spinHint()
                } else {
                    pthread_mutex_lock(&mutex)
                    sleepers += 1
                    while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(&wake, &mutex) }
                    sleepers -= 1
                    pthread_mutex_unlock(&mutex)
                    spins = 0
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            active.wrappingAdd(1, ordering: .sequentiallyConsistent)
            let address = jobAddress.load(ordering: .sequentiallyConsistent)
            if address != 0 {
                drain(Unmanaged<JobBox>.fromOpaque(UnsafeRawPointer(bitPattern: address)!).takeUnretainedValue(), worker: worker)
            }
            active.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        }
    }

    @inline(__always)
    private func spinHint() {
        // No portable pause intrinsic in Swift; an empty atomic load keeps the loop honest.
        _ = busy.load(ordering: .relaxed)
    }
}

private final class JobBox {
    let body: (Int, Int) -> Void
    let count: Int
    init(_ body: @escaping (Int, Int) -> Void, _ count: Int) {
        self.body = body
        self.count = count
    }
}
