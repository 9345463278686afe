import Foundation
import Testing

@testable import Electra

/// Reading the data files users name: regular files, pipes (`--file <(zcat x.gz)`,
/// /dev/stdin) and the errors for what cannot be read.
struct InputFileTests {
    @Test func readsRegularFilesWhole() throws {
        let dir = try makeTempFolder("input")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("big.txt")
        let payload = Data((0..<200_003).map { UInt8($0 % 251) })
        try payload.write(to: file)
        #expect(try InputFile.contents(of: file) == payload)
        let empty = dir.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        #expect(try InputFile.contents(of: empty).isEmpty)
        #expect(errorMessage { _ = try InputFile.contents(of: dir.appendingPathComponent("none.txt")) } == "\(dir.path)/none.txt does not exist")
        #expect(errorMessage { _ = try InputFile.contents(of: dir) } == "\(dir.path) is a folder; give a file")
    }

    /// What a shell's process substitution hands over: /dev/fd/N of a pipe whose writer is
    /// still writing (more than a pipe's 64 KB buffer, so reading and writing interleave).
    @Test func readsAPipeToItsEnd() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let payload = Data((0..<300_000).map { UInt8($0 % 253) })
        let writeEnd = fds[1]
        let writer = Thread {
            payload.withUnsafeBytes { raw in
                var sent = 0
                while sent < raw.count {
                    let n = write(writeEnd, raw.baseAddress! + sent, raw.count - sent)
                    if n <= 0 { break }
                    sent += n
                }
            }
            close(writeEnd)
        }
        writer.start()
        let read = try InputFile.contents(of: "/dev/fd/\(fds[0])")
        close(fds[0])
        #expect(read == payload)
    }

    /// A named FIFO nobody writes to reads as empty at once (the command then says the file
    /// holds no text) instead of waiting forever for a writer.
    @Test func fifoWithoutWriterDoesNotBlock() throws {
        let dir = try makeTempFolder("input")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("texts")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let (bytes, blocked) = runUnblocking(unblock: { releaseFIFOReader(fifo.path) }) {
            (try? InputFile.contents(of: fifo))?.count
        }
        #expect(!blocked, "reading a FIFO without a writer blocked")
        #expect(bytes == 0)
    }
}

/// Writing outputs: files through a temp file and a rename; devices and pipes in place (a
/// rename onto /dev/stdout or /dev/null would replace the node itself).
struct AtomicFileTests {
    final class Received: @unchecked Sendable {
        var data = Data()
    }

    @Test func writesFilesWholeAndPipesInPlace() throws {
        let dir = try makeTempFolder("atomic")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("out.json")
        try AtomicFile.write(Data("old".utf8), to: file)
        try AtomicFile.write(Data("new".utf8), to: file)
        #expect(try Data(contentsOf: file) == Data("new".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.json"])  // no temp left
        #expect(errorMessage { try AtomicFile.write(Data(), to: dir) } == "\(dir.path) is a folder; give a file name")

        // A FIFO someone reads: the bytes go through it, and it stays a FIFO.
        let fifo = dir.appendingPathComponent("stream")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let received = Received(), done = DispatchSemaphore(value: 0), opened = DispatchSemaphore(value: 0)
        let path = fifo.path
        Thread {
            let fd = open(path, O_RDONLY | O_NONBLOCK)
            opened.signal()
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n > 0 { received.data.append(contentsOf: buffer[0..<n]) } else if n == 0 && !received.data.isEmpty { break } else { usleep(1000) }
            }
            close(fd)
            done.signal()
        }.start()
        opened.wait()
        let payload = Data((0..<100_000).map { UInt8($0 % 241) })
        try AtomicFile.write(payload, to: fifo)
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(received.data == payload)
        var info = stat()
        #expect(lstat(fifo.path, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["out.json", "stream"])

        // Nobody reading: an error at once, not a hang.
        #expect(errorMessage { try AtomicFile.write(Data("x".utf8), to: fifo) } == "cannot write \(fifo.path): nothing is reading that pipe")
    }
}
