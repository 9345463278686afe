#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The bytes of a data file a user names (`--file`, `--train`, `--data`, ...), whatever kind
/// of file it is. Why not `Data(contentsOf:)`: on Linux it fails on pipes and devices, so
/// `--file <(zcat dev.tsv.gz)` or `--file /dev/stdin` stopped with "You don't have
/// permission". Here a regular file is read at its size and anything else until its end
/// (checkpoints are another matter: MappedFile maps regular files only).
public enum InputFile {
    public static func contents(of path: String) throws -> Data {
        // O_NONBLOCK only for the open: a named FIFO nobody writes to then reads as empty at
        // once instead of blocking the process; reads block as usual afterwards.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw ElectraError("\(path) does not exist") }
            throw ElectraError("cannot read \(path): \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ElectraError("cannot read \(path): \(String(cString: strerror(errno)))") }
        let kind = info.st_mode & S_IFMT
        if kind == S_IFDIR { throw ElectraError("\(path) is a folder; give a file") }
        // A regular file's known size in one buffer, then whatever follows (all of a pipe's
        // bytes, or what a growing file gained).
        let size = kind == S_IFREG ? Int(info.st_size) : 0
        var data = Data(count: size)
        var filled = 0
        while filled < size {
            let n = data.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, size - filled) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw ElectraError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            filled += n
        }
        data.count = filled
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw ElectraError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            data.append(contentsOf: chunk[0..<n])
        }
        return data
    }

    public static func contents(of url: URL) throws -> Data { try contents(of: url.path) }
}
