import Foundation

/// Writes go to a temporary file in the destination's folder, then a rename: a crash or kill
/// mid-write leaves the previous file (or none), never a half-written one.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { handle in try handle.write(contentsOf: data) }
    }

    /// Streams through `body` into a temp file, fsyncs, then renames onto `url`. A destination
    /// that is a device, pipe or socket (`--output /dev/stdout`, /dev/null, a FIFO) is written
    /// in place instead: a rename would replace the device node itself (as root, /dev/null
    /// with a regular file), and a stream has no half-written state to protect.
    public static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws {
        var info = stat()
        if stat(url.path, &info) == 0 {  // follows links: /dev/stdout -> /proc/self/fd/1 -> a pipe or terminal
            let kind = info.st_mode & S_IFMT
            if kind == S_IFDIR { throw ElectraError("\(url.path) is a folder; give a file name") }
            if kind != S_IFREG { return try writeInPlace(to: url, body) }
        }
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw ElectraError("cannot create \(tmp.path) (does the folder \(dir.path) exist and is it writable?)")
        }
        do {
            let h = try FileHandle(forWritingTo: tmp)
            do {
                try body(h)
                try FaultInjection.afterWriting(url)
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

extension AtomicFile {
    fileprivate static func writeInPlace(to url: URL, _ body: (FileHandle) throws -> Void) throws {
        // O_NONBLOCK for the open only: a FIFO nobody reads is an error at once, not a hang.
        let fd = open(url.path, O_WRONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            if code == ENXIO { throw ElectraError("cannot write \(url.path): nothing is reading that pipe") }
            throw ElectraError("cannot write \(url.path): \(String(cString: strerror(code)))")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        let h = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
        defer { close(fd) }
        do { try body(h) } catch {
            if let e = error as? ElectraError { throw e }
            throw ElectraError("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}

/// Builds a folder at a temporary sibling path and renames it into place, so a failure
/// leaves nothing at the destination (and an earlier folder there untouched).
public enum AtomicFolder {
    /// An existing `destination` is refused unless `replace` (the message names `option`);
    /// then it is replaced only after `build` succeeded.
    public static func create(_ destination: URL, replace: Bool, option: String, _ build: (URL) throws -> Void) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let exists = fm.fileExists(atPath: destination.path, isDirectory: &isDir)
        if exists && !isDir.boolValue { throw ElectraError("\(destination.path) is a file, not a folder") }
        if exists && !replace { throw ElectraError("\(destination.path) exists; pass \(option) to replace it") }
        let parent = destination.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let tmp = parent.appendingPathComponent(".\(destination.lastPathComponent).tmp-\(tag)")
        do {
            try fm.createDirectory(at: tmp, withIntermediateDirectories: false)
            try build(tmp)
            if exists {
                let old = parent.appendingPathComponent(".\(destination.lastPathComponent).old-\(tag)")
                guard rename(destination.path, old.path) == 0 else {
                    throw ElectraError("cannot move \(destination.path) aside: \(String(cString: strerror(errno)))")
                }
                guard rename(tmp.path, destination.path) == 0 else {
                    _ = rename(old.path, destination.path)
                    throw ElectraError("cannot move \(tmp.path) to \(destination.path): \(String(cString: strerror(errno)))")
                }
                try? fm.removeItem(at: old)
            } else if rename(tmp.path, destination.path) != 0 {
                throw ElectraError("cannot move \(tmp.path) to \(destination.path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? fm.removeItem(at: tmp)
            throw error
        }
    }
}

/// Test hook for "no partial output" (a full disk, a kill in the middle of a save):
/// ELECTRA_FAULT_INJECTION=fail:NAME[@N] makes the N-th (default: first) atomic write of a
/// file named NAME fail after its bytes went to the temporary file, as a full disk would;
/// kill:NAME[@N] kills the process (SIGKILL) there.
enum FaultInjection {
    static let spec: (action: String, name: String, occurrence: Int)? = {
        guard let s = ProcessInfo.processInfo.environment["ELECTRA_FAULT_INJECTION"],
              let colon = s.firstIndex(of: ":") else { return nil }
        var name = String(s[s.index(after: colon)...]), n = 1
        if let at = name.lastIndex(of: "@"), let k = Int(name[name.index(after: at)...]) {
            n = k
            name = String(name[..<at])
        }
        return (String(s[..<colon]), name, n)
    }()
    nonisolated(unsafe) static var seen = 0

    static func afterWriting(_ url: URL) throws {
        guard let spec, url.lastPathComponent == spec.name else { return }
        seen += 1
        guard seen == spec.occurrence else { return }
        if spec.action == "kill" { kill(getpid(), SIGKILL) }
        throw ElectraError("cannot write \(url.path): No space left on device (injected by ELECTRA_FAULT_INJECTION)")
    }
}
