import Electra
import Foundation

/// The few MPI calls data-parallel training needs, from Open MPI's libmpi loaded at run time
/// (dlopen), so the package builds, links and runs without MPI; only a job that asks for it
/// (`mpirun`, `--distributed`) needs the library.
///
/// Open MPI's handles (`MPI_COMM_WORLD`, `MPI_FLOAT`, `MPI_SUM`) are the addresses of its
/// predefined objects (`ompi_mpi_comm_world`, ...), so dlsym gives them directly. MPICH's are
/// integer constants from its header; it is not supported (the error says so).
final class MPILibrary: @unchecked Sendable {
    typealias Handle = UnsafeMutableRawPointer
    typealias InitThread = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?, Int32, UnsafeMutablePointer<Int32>) -> Int32
    typealias CommInt = @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    typealias Allreduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer, Int32, Handle, Handle, Handle) -> Int32
    /// MPI_Iallreduce: as Allreduce, plus the MPI_Request (a pointer in Open MPI) it writes.
    typealias Iallreduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer, Int32, Handle, Handle, Handle, UnsafeMutablePointer<OpaquePointer?>) -> Int32
    /// MPI_Test(request, flag, status); status NULL is MPI_STATUS_IGNORE in Open MPI.
    typealias Test = @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UnsafeMutablePointer<Int32>, UnsafeMutableRawPointer?) -> Int32
    typealias Bcast = @convention(c) (UnsafeMutableRawPointer, Int32, Handle, Int32, Handle) -> Int32
    typealias Gather = @convention(c) (UnsafeRawPointer, Int32, Handle, UnsafeMutableRawPointer?, Int32, Handle, Int32, Handle) -> Int32
    typealias Gatherv = @convention(c) (UnsafeRawPointer, Int32, Handle, UnsafeMutableRawPointer?, UnsafePointer<Int32>?, UnsafePointer<Int32>?, Handle, Int32, Handle) -> Int32
    typealias CommOnly = @convention(c) (Handle) -> Int32
    typealias Abort = @convention(c) (Handle, Int32) -> Int32
    typealias NoArgs = @convention(c) () -> Int32

    let initThread: InitThread
    let commRank, commSize: CommInt
    let allreduce: Allreduce
    let iallreduce: Iallreduce
    let test: Test
    let bcast: Bcast
    let gather: Gather
    let gatherv: Gatherv
    let barrier: CommOnly
    let abort: Abort
    let finalize: NoArgs
    let world, float, double, int32, byte, sum: Handle
    /// Open MPI's MPI_IN_PLACE: `(void *) 1`.
    let inPlace = UnsafeRawPointer(bitPattern: 1)!
    /// MPI_THREAD_SERIALIZED in Open MPI's numbering (single 0, funneled 1, serialized 2, multiple 3).
    static let threadSerialized: Int32 = 2

    /// Where libmpi is looked for: `ELECTRA_MPI_LIBRARY` alone when set (a wrong path is an
    /// error, not a silent fallback), else Open MPI's sonames.
    static var candidates: [String] {
        if let p = ProcessInfo.processInfo.environment["ELECTRA_MPI_LIBRARY"], !p.isEmpty { return [p] }
        var names: [String] = []
        #if os(macOS)
        names += ["libmpi.40.dylib", "libmpi.dylib", "/opt/homebrew/lib/libmpi.dylib", "/usr/local/lib/libmpi.dylib"]
        #else
        names += ["libmpi.so.40", "libmpi.so"]
        #endif
        return names
    }

    init() throws {
        var handle: UnsafeMutableRawPointer?
        var tried: [String] = []
        for name in Self.candidates {
            // RTLD_GLOBAL: Open MPI's plugins resolve libmpi's symbols from the global scope.
            handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL)
            if handle != nil { break }
            tried.append(name)
        }
        guard let handle else {
            throw ElectraError("distributed training needs Open MPI's libmpi, which was not found (tried \(tried.joined(separator: ", "))); install it (Debian: apt-get install openmpi-bin) or set ELECTRA_MPI_LIBRARY to its path")
        }
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let p = dlsym(handle, name) else {
                if dlsym(handle, "MPIR_Err_return_comm") != nil || dlsym(handle, "MPICH_Init") != nil {
                    throw ElectraError("the libmpi found is MPICH's; distributed training supports Open MPI (4 or 5): install it, or point ELECTRA_MPI_LIBRARY at its libmpi")
                }
                throw ElectraError("libmpi has no symbol \(name): not an Open MPI library? Point ELECTRA_MPI_LIBRARY at Open MPI's libmpi")
            }
            return p
        }
        func function<T>(_ name: String, _: T.Type) throws -> T { unsafeBitCast(try symbol(name), to: T.self) }
        initThread = try function("MPI_Init_thread", InitThread.self)
        commRank = try function("MPI_Comm_rank", CommInt.self)
        commSize = try function("MPI_Comm_size", CommInt.self)
        allreduce = try function("MPI_Allreduce", Allreduce.self)
        iallreduce = try function("MPI_Iallreduce", Iallreduce.self)
        test = try function("MPI_Test", Test.self)
        bcast = try function("MPI_Bcast", Bcast.self)
        gather = try function("MPI_Gather", Gather.self)
        gatherv = try function("MPI_Gatherv", Gatherv.self)
        barrier = try function("MPI_Barrier", CommOnly.self)
        abort = try function("MPI_Abort", Abort.self)
        finalize = try function("MPI_Finalize", NoArgs.self)
        world = try symbol("ompi_mpi_comm_world")
        float = try symbol("ompi_mpi_float")
        double = try symbol("ompi_mpi_double")
        int32 = try symbol("ompi_mpi_int")
        byte = try symbol("ompi_mpi_byte")
        sum = try symbol("ompi_mpi_op_sum")
    }

    /// Whether this process was started by a launcher that sets up an MPI job (mpirun,
    /// Open MPI's or PMIx's environment).
    static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil || env["PMI_RANK"] != nil
    }
}
