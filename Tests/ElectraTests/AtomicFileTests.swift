import Foundation
import Testing

@testable import Electra

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
