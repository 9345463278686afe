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

    /// `--output /dev/stdout > out.json` (or `>> log`): the name leads to a regular file, yet
    /// the bytes go through the open descriptor, after what is already there, and /dev/fd
    /// gets no temporary file.
    @Test func descriptorNamesAreWrittenThroughTheDescriptor() throws {
        let dir = try makeTempFolder("atomic-fd")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("redirected.log")
        let fd = open(file.path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(write(fd, "first\n", 6) == 6)
        for path in ["/dev/fd/\(fd)", "/proc/self/fd/\(fd)"] where FileManager.default.fileExists(atPath: path) {
            try AtomicFile.write(Data("then \(path)\n".utf8), to: URL(fileURLWithPath: path))
        }
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.hasPrefix("first\nthen /dev/fd/\(fd)\n"), "\(text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["redirected.log"])
        #expect(errorMessage { try AtomicFile.write(Data(), to: URL(fileURLWithPath: "/dev/fd/987")) }
                == "cannot write /dev/fd/987: the descriptor 987 is not open")
    }

    /// `--overwrite` of convert, init and prepare-data: the run's entries replace theirs, every
    /// other file stays except an earlier run's outputs named by `removingStale` that this run
    /// did not write; a failed build changes nothing.
    @Test func replacingAFolderReplacesOnlyWhatTheRunWrites() throws {
        let dir = try makeTempFolder("atomic-folder")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        let out = dir.appendingPathComponent("out")
        func text(_ name: String) throws -> String { try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8) }
        func write(_ name: String, _ body: String, in folder: URL) throws {
            let url = folder.appendingPathComponent(name)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try body.write(to: url, atomically: false, encoding: .utf8)
        }
        let first = try AtomicFolder.create(out, replace: false, option: "--overwrite") { tmp in
            try write("a.json", "old a", in: tmp)
            try write("shard-2", "old shard", in: tmp)
            try write("sub/x", "old x", in: tmp)
        }
        #expect(first == ["a.json", "shard-2", "sub"])
        try write("notes.txt", "mine", in: out)
        try write("sub/mine", "mine too", in: out)
        #expect(errorMessage { try AtomicFolder.create(out, replace: false, option: "--overwrite") { _ in } }
                == "\(out.path) exists; pass --overwrite to replace it")

        // A build that fails leaves the folder as it was, and no temporary folder.
        #expect(errorMessage { try AtomicFolder.create(out, replace: true, option: "--overwrite") { tmp in
            try write("a.json", "half", in: tmp)
            throw ElectraError("disk full")
        } } == "disk full")
        #expect(try text("a.json") == "old a" && text("shard-2") == "old shard")
        #expect(try fm.contentsOfDirectory(atPath: dir.path) == ["out"])

        // Without removingStale, what this run did not write stays.
        try AtomicFolder.create(out, replace: true, option: "--overwrite") { tmp in try write("a.json", "new a", in: tmp) }
        #expect(try text("a.json") == "new a" && text("shard-2") == "old shard" && text("notes.txt") == "mine")

        let written = try AtomicFolder.create(out, replace: true, option: "--overwrite", removingStale: { $0.hasPrefix("shard-") }) { tmp in
            try write("b.bin", "new b", in: tmp)
            try write("shard-1", "new shard", in: tmp)
            try write("sub/y", "new y", in: tmp)
        }
        #expect(written == ["b.bin", "shard-1", "sub"])
        #expect(try text("b.bin") == "new b" && text("shard-1") == "new shard" && text("sub/y") == "new y")
        #expect(try text("notes.txt") == "mine" && text("a.json") == "new a")  // not this run's: kept
        #expect(try fm.contentsOfDirectory(atPath: out.path).sorted() == ["a.json", "b.bin", "notes.txt", "shard-1", "sub"])  // shard-2 removed
        #expect(try fm.contentsOfDirectory(atPath: out.appendingPathComponent("sub").path) == ["y"])  // the run's folder, whole
        #expect(try fm.contentsOfDirectory(atPath: dir.path) == ["out"])
    }

    /// A write killed before its rename leaves `.NAME.tmp-PID-TAG`; the next write of NAME
    /// removes it once PID no longer runs, and leaves a running process's alone.
    @Test func aKilledWritesLeftoversGoWithTheNextWrite() throws {
        let dir = try makeTempFolder("atomic-leftovers")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let dead = ended.processIdentifier
        for name in [".out.tmp-\(dead)-7", ".m.safetensors.tmp-\(dead)-8"] {
            try fm.createDirectory(at: dir.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        let running = ".out.tmp-1-9"  // pid 1 runs
        try fm.createDirectory(at: dir.appendingPathComponent(running), withIntermediateDirectories: true)
        try AtomicFolder.create(dir.appendingPathComponent("out"), replace: false, option: "--overwrite") { _ in }
        try AtomicFile.write(Data("x".utf8), to: dir.appendingPathComponent("m.safetensors"))
        #expect(try fm.contentsOfDirectory(atPath: dir.path).sorted() == [running, "m.safetensors", "out"])
    }
}
