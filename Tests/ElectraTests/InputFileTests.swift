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
