import Foundation

/// Writes go to a temporary file in the destination's folder, then a rename: a crash or kill
/// mid-write leaves the previous file (or none), never a half-written one.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { handle in try handle.write(contentsOf: data) }
    }

    /// Streams through `body` into a temp file, fsyncs, then renames onto `url`.
    public static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws {
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw ElectraError("cannot create \(tmp.path) (does the folder \(dir.path) exist and is it writable?)")
        }
        do {
            let h = try FileHandle(forWritingTo: tmp)
            do {
                try body(h)
                try h.synchronize()
                try h.close()
            } catch {
                try? h.close()
                throw error
            }
            if rename(tmp.path, url.path) != 0 {
                throw ElectraError("cannot move \(tmp.path) to \(url.path): \(String(cString: strerror(errno)))")
            }
            // The rename itself must reach the disk too, or a crash could bring back the old file.
            let dirFD = open(dir.path, O_RDONLY)
            if dirFD >= 0 {
                _ = fsync(dirFD)
                close(dirFD)
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            if let e = error as? ElectraError { throw e }
            throw ElectraError("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
