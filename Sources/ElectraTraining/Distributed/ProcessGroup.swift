import Electra
import Foundation

/// The processes of one data-parallel training job: each has a rank in 0..<size, sums
/// gradients with the others and follows rank 0's decisions. One process alone is
/// `SingleProcess` (every collective a no-op); an MPI job is `MPIProcessGroup`.
public protocol ProcessGroup: AnyObject, Sendable {
    var rank: Int { get }
    var size: Int { get }
    /// Sums `count` floats at `values` over all ranks, in place (every rank gets the sum).
    func allreduceSum(_ values: UnsafeMutablePointer<Float>, count: Int)
    /// As `allreduceSum`, for a thread that runs beside the computation (the gradient
    /// reducer's): it waits without spinning, so the compute threads keep their cores.
    func allreduceSumBeside(_ values: UnsafeMutablePointer<Float>, count: Int)
    /// Sums doubles over all ranks, in place.
    func allreduceSum(_ values: inout [Double])
    /// Every rank gets rank 0's `values` (same count on every rank).
    func broadcast(_ values: inout [Double])
    /// Rank 0 gets every rank's bytes in rank order; the others get nil.
    func gather(_ bytes: [UInt8]) -> [[UInt8]]?
    func barrier()
}

extension ProcessGroup {
    public var isRoot: Bool { rank == 0 }
}

/// One process: nothing to exchange.
public final class SingleProcess: ProcessGroup {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) {}
    public func allreduceSumBeside(_ values: UnsafeMutablePointer<Float>, count: Int) {}
    public func allreduceSum(_ values: inout [Double]) {}
    public func broadcast(_ values: inout [Double]) {}
    public func gather(_ bytes: [UInt8]) -> [[UInt8]]? { [bytes] }
    public func barrier() {}
}

/// MPI_COMM_WORLD. Every MPI call runs on one serial queue (MPI_THREAD_SERIALIZED), so the
/// gradient reducer's thread and the training thread never call MPI at the same time.
/// Errors use MPI's default handler, which ends the whole job with MPI's message (a rank that
/// dies takes the job down through mpirun as well).
public final class MPIProcessGroup: ProcessGroup, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    let mpi: MPILibrary
    let queue = DispatchQueue(label: "electra.mpi")

    /// Joins the job mpirun started (MPI_Init_thread). Once per process.
    public init() throws {
        let mpi = try MPILibrary()
        self.mpi = mpi
        var provided: Int32 = 0, r: Int32 = 0, s: Int32 = 0
        let rc = queue.sync { () -> Int32 in
            let rc = mpi.initThread(nil, nil, MPILibrary.threadSerialized, &provided)
            _ = mpi.commRank(mpi.world, &r)
            _ = mpi.commSize(mpi.world, &s)
            return rc
        }
        guard rc == 0 else { throw ElectraError("MPI_Init_thread failed (code \(rc))") }
        guard provided >= MPILibrary.threadSerialized else {
            throw ElectraError("this MPI library gives thread level \(provided); distributed training needs MPI_THREAD_SERIALIZED (2) or higher")
        }
        rank = Int(r)
        size = Int(s)
    }

    /// Counts are C ints: larger buffers go in pieces.
    static let chunk = 1 << 30

    public func allreduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) {
        queue.sync {
            var at = 0
            while at < count {
                let n = min(Self.chunk, count - at)
                _ = mpi.allreduce(mpi.inPlace, values + at, Int32(n), mpi.float, mpi.sum, mpi.world)
                at += n
            }
        }
    }

    /// A blocking MPI_Allreduce polls its sockets in a loop, and on a host with no spare core
    /// that loop takes the compute thread's time: measured on 2 cores with 2 ranks, the
    /// overlapped step was slower than summing after the backward. Here the sum is started
    /// with MPI_Iallreduce and tested every 100 microseconds in between sleeps; each test
    /// moves it on.
    public func allreduceSumBeside(_ values: UnsafeMutablePointer<Float>, count: Int) {
        var at = 0
        while at < count {
            let n = min(Self.chunk, count - at)
            var request: OpaquePointer?
            queue.sync { _ = mpi.iallreduce(mpi.inPlace, values + at, Int32(n), mpi.float, mpi.sum, mpi.world, &request) }
            var done: Int32 = 0
            while done == 0 {
                queue.sync { _ = mpi.test(&request, &done, nil) }
                if done == 0 { usleep(100) }
            }
            at += n
        }
    }

    public func allreduceSum(_ values: inout [Double]) {
        let n = Int32(values.count)
        values.withUnsafeMutableBytes { b in
            let p = b.baseAddress!
            queue.sync { _ = mpi.allreduce(mpi.inPlace, p, n, mpi.double, mpi.sum, mpi.world) }
        }
    }

    public func broadcast(_ values: inout [Double]) {
        let n = Int32(values.count)
        values.withUnsafeMutableBytes { b in
            let p = b.baseAddress!
            queue.sync { _ = mpi.bcast(p, n, mpi.double, 0, mpi.world) }
        }
    }

    public func gather(_ bytes: [UInt8]) -> [[UInt8]]? {
        var mine = Int32(bytes.count)
        var counts = [Int32](repeating: 0, count: rank == 0 ? size : 1)
        queue.sync { _ = mpi.gather(&mine, 1, mpi.int32, &counts, 1, mpi.int32, 0, mpi.world) }
        let displs = rank == 0 ? counts.indices.map { Int32(counts[..<$0].reduce(0, +)) } : [0]
        var all = [UInt8](repeating: 0, count: rank == 0 ? Int(counts.reduce(0, +)) : 1)
        let send = bytes.isEmpty ? [0] : bytes
        send.withUnsafeBytes { s in
            all.withUnsafeMutableBytes { a in
                counts.withUnsafeBufferPointer { c in
                    displs.withUnsafeBufferPointer { d in
                        queue.sync {
                            _ = mpi.gatherv(s.baseAddress!, mine, mpi.byte, a.baseAddress, c.baseAddress, d.baseAddress, mpi.byte, 0, mpi.world)
                        }
                    }
                }
            }
        }
        guard rank == 0 else { return nil }
        return counts.indices.map { k in Array(all[Int(displs[k])..<Int(displs[k] + counts[k])]) }
    }

    public func barrier() { queue.sync { _ = mpi.barrier(mpi.world) } }

    /// Ends every rank of the job (a fatal error on this one).
    public func abort(code: Int32) -> Never {
        _ = mpi.abort(mpi.world, code)
        exit(code)
    }

    /// MPI_Finalize; call once at the end of a job every rank finished.
    public func finalize() { queue.sync { _ = mpi.finalize() } }
}

/// How a command joins a job: under a launcher (mpirun sets its environment) or with
/// `--distributed`, MPI; else one process.
public enum ProcessGroups {
    public static func make(distributed: Bool) throws -> any ProcessGroup {
        guard distributed || MPILibrary.launchedByMPI else { return SingleProcess() }
        return try MPIProcessGroup()
    }
}
