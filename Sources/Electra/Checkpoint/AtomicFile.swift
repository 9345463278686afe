import Foundation

/// Writes go to a temporary file in the destination's folder, then a rename: a crash or kill
/// mid-write leaves the previous file (or none), never a half-written one.
public enum AtomicFile {
    /// fsync of a folder: the renames and removals in it reach the disk (a power loss after a
    /// rename could otherwise bring back what it replaced).
    public static func syncFolder(_ dir: URL) {
        let fd = open(dir.path, O_RDONLY)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { handle in try handle.write(contentsOf: data) }
    }

    /// Streams through `body` into a temp file, fsyncs, then renames onto `url`. A destination
    /// that names an open descriptor (`--output /dev/stdout`) is written through it, and one
    /// that is a device, pipe or socket (/dev/null, a FIFO) in place: a rename would replace
    /// the device node itself (as root, /dev/null with a regular file), and a stream has no
    /// half-written state to protect.
    public static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws {
        if let fd = inheritedDescriptor(url.path) { return try writeToDescriptor(fd, named: url.path, body) }
        var info = stat()
        if stat(url.path, &info) == 0 {  // follows links: /dev/stdout -> /proc/self/fd/1 -> a pipe or terminal
            let kind = info.st_mode & S_IFMT
            if kind == S_IFDIR { throw ElectraError("\(url.path) is a folder; give a file name") }
            if kind != S_IFREG { return try writeInPlace(to: url, body) }
        }
        let dir = url.deletingLastPathComponent()
        LeftoverTemporaries.remove(for: url)
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
            syncFolder(dir)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            if let e = error as? ElectraError { throw e }
            throw ElectraError("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}

extension AtomicFile {
    /// The descriptor a path names (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N).
    /// Written through that descriptor, not reopened: with `> out.json` the name leads to a
    /// regular file, which a rename in /dev would miss (and, as root, replace /dev/stdout
    /// itself), and with `>> log` a reopened file would be written from its start.
    static func inheritedDescriptor(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdout": return STDOUT_FILENO
        case "/dev/stderr": return STDERR_FILENO
        default: break
        }
        for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
            return Int32(path.dropFirst(prefix.count))
        }
        return nil
    }

    fileprivate static func writeToDescriptor(_ fd: Int32, named path: String, _ body: (FileHandle) throws -> Void) throws {
        guard fcntl(fd, F_GETFD) >= 0 else { throw ElectraError("cannot write \(path): the descriptor \(fd) is not open") }
        fflush(nil)  // what print() buffered goes first
        try stream(fd, named: path, body)
    }

    /// `body` writing to `fd` (left open); a write error names the path.
    fileprivate static func stream(_ fd: Int32, named path: String, _ body: (FileHandle) throws -> Void) throws {
        do { try body(FileHandle(fileDescriptor: fd, closeOnDealloc: false)) } catch {
            if let e = error as? ElectraError { throw e }
            throw ElectraError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    fileprivate static func writeInPlace(to url: URL, _ body: (FileHandle) throws -> Void) throws {
        // O_NONBLOCK for the open only: a FIFO nobody reads is an error at once, not a hang.
        let fd = open(url.path, O_WRONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            if code == ENXIO { throw ElectraError("cannot write \(url.path): nothing is reading that pipe") }
            throw ElectraError("cannot write \(url.path): \(String(cString: strerror(code)))")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        defer { close(fd) }
        try stream(fd, named: url.path, body)
    }
}

/// Builds a folder at a temporary sibling path and moves it into place, so a failure leaves
/// nothing at the destination (and an earlier folder there untouched).
public enum AtomicFolder {
    /// An existing `destination` is refused unless `replace` (the message names `option`).
    /// Replacing it replaces only what this run writes, after `build` succeeded: each entry
    /// `build` made takes the place of the one of its name (a file by one rename), and every
    /// other entry stays (a README, notes, a `.git`), except those `removingStale` names: the
    /// outputs of an earlier run of the same command that this one did not write (prepare-data's
    /// extra shards). Returns the names written.
    @discardableResult
    public static func create(_ destination: URL, replace: Bool, option: String,
                              removingStale stale: ((String) -> Bool)? = nil, _ build: (URL) throws -> Void) throws -> [String] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let exists = fm.fileExists(atPath: destination.path, isDirectory: &isDir)
        if exists && !isDir.boolValue { throw ElectraError("\(destination.path) is a file, not a folder") }
        if exists && !replace { throw ElectraError("\(destination.path) exists; pass \(option) to replace it") }
        let parent = destination.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        LeftoverTemporaries.remove(for: destination)
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let tmp = parent.appendingPathComponent(".\(destination.lastPathComponent).tmp-\(tag)")
        do {
            try fm.createDirectory(at: tmp, withIntermediateDirectories: false)
            try build(tmp)
            let written = try fm.contentsOfDirectory(atPath: tmp.path).sorted()
            if exists {
                try moveEntries(written, from: tmp, into: destination, tag: tag)
                if let stale { try removeStale(in: destination, keeping: Set(written), stale) }
                try? fm.removeItem(at: tmp)
            } else if rename(tmp.path, destination.path) != 0 {
                throw ElectraError("cannot move \(tmp.path) to \(destination.path): \(String(cString: strerror(errno)))")
            }
            return written
        } catch {
            try? fm.removeItem(at: tmp)
            throw error
        }
    }

    /// Moves the entries `names` of `source` into `destination` over the entry of each name: a
    /// file by rename (atomic), anything else by moving the old one aside first.
    static func moveEntries(_ names: [String], from source: URL, into destination: URL, tag: String) throws {
        let fm = FileManager.default
        for name in names {
            let from = source.appendingPathComponent(name).path, to = destination.appendingPathComponent(name).path
            var old = stat(), new = stat()
            let oldExists = lstat(to, &old) == 0
            _ = lstat(from, &new)
            let bothFiles = oldExists && old.st_mode & S_IFMT == S_IFREG && new.st_mode & S_IFMT == S_IFREG
            if !oldExists || bothFiles {
                guard rename(from, to) == 0 else { throw ElectraError("cannot move \(from) to \(to): \(String(cString: strerror(errno)))") }
                continue
            }
            let aside = destination.appendingPathComponent(".\(name).old-\(tag)").path
            guard rename(to, aside) == 0 else { throw ElectraError("cannot move \(to) aside: \(String(cString: strerror(errno)))") }
            guard rename(from, to) == 0 else {
                let e = errno
                _ = rename(aside, to)
                throw ElectraError("cannot move \(from) to \(to): \(String(cString: strerror(e)))")
            }
            try? fm.removeItem(atPath: aside)
        }
    }

    /// Removes the entries of `folder` an earlier run wrote (`stale`) that are not in `keeping`.
    static func removeStale(in folder: URL, keeping: Set<String>, _ stale: (String) -> Bool) throws {
        let fm = FileManager.default
        for name in try fm.contentsOfDirectory(atPath: folder.path) where stale(name) && !keeping.contains(name) {
            let url = folder.appendingPathComponent(name)
            do { try fm.removeItem(at: url) } catch {
                throw ElectraError("cannot remove \(url.path), written by an earlier run: \(error.localizedDescription)")
            }
        }
    }
}

/// What a killed write left: `.NAME.tmp-PID-TAG` beside NAME (AtomicFile, AtomicFolder),
/// whose process PID no longer runs (SIGKILL, or Ctrl-C during a conversion). The next write
/// of NAME removes them, so a half-built folder does not stay on disk for good.
enum LeftoverTemporaries {
    static func remove(for destination: URL) {
        let parent = destination.deletingLastPathComponent()
        let prefix = ".\(destination.lastPathComponent).tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            let tag = name.dropFirst(prefix.count).split(separator: "-")
            guard tag.count == 2, let pid = Int32(tag[0]), UInt32(tag[1]) != nil, pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH {
                try? FileManager.default.removeItem(at: parent.appendingPathComponent(name))
            }
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
