import Foundation
import Testing

@testable import Electra

/// Opening checkpoint files: only regular files are mapped, and nothing blocks.
struct MappedFileTests {
    @Test func mapsRegularFilesAndRefusesTheRest() throws {
        let dir = try makeTempFolder("mapped")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("w.bin")
        try Data([1, 2, 3]).write(to: file)
        let m = try MappedFile(url: file)
        #expect(m.size == 3 && m.base.load(fromByteOffset: 2, as: UInt8.self) == 3)
        m.base.storeBytes(of: 9, toByteOffset: 0, as: UInt8.self)  // copy-on-write: the file keeps its bytes
        #expect(try Data(contentsOf: file) == Data([1, 2, 3]))
        let empty = dir.appendingPathComponent("empty.bin")
        try Data().write(to: empty)
        #expect(try MappedFile(url: empty).size == 0)
        #expect(errorMessage { _ = try MappedFile(url: dir) } == "\(dir.path) is a folder, expected a file")
        #expect(errorMessage { _ = try MappedFile(url: URL(fileURLWithPath: "/dev/null")) } == "/dev/null is not a regular file")
        #expect(errorMessage { _ = try MappedFile(url: dir.appendingPathComponent("missing.bin")) }.hasPrefix("cannot open \(dir.path)/missing.bin: "))
    }

    /// Opening a FIFO for reading waits for a writer; a checkpoint path naming one (by
    /// accident or on purpose) must be refused at once instead of hanging the process.
    @Test func fifoIsRefusedWithoutBlocking() throws {
        let dir = try makeTempFolder("mapped")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("model.bin")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let (message, blocked) = runUnblocking(unblock: { releaseFIFOReader(fifo.path) }) {
            errorMessage { _ = try MappedFile(url: fifo) }
        }
        #expect(!blocked, "MappedFile(url:) blocked on a FIFO")
        #expect(message == "\(fifo.path) is not a regular file")
    }
}
