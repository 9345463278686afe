import Electra
import Foundation

/// huggingface_hub's cache layout, so either side reads what the other downloaded:
///   models--org--name/blobs/<etag>                 file contents (sha256 for LFS files, git sha1 else)
///   models--org--name/refs/<revision>              the commit a branch or tag pointed to
///   models--org--name/snapshots/<commit>/<file>    relative symlink to ../../blobs/<etag>
///   .locks/models--org--name/<etag>.lock           held while one process downloads a blob
struct HubCache {
    let root: URL
    let name: HubName

    var repoFolder: URL { root.appendingPathComponent(name.cacheFolderName) }
    var blobs: URL { repoFolder.appendingPathComponent("blobs") }
    func blob(_ etag: String) -> URL { blobs.appendingPathComponent(etag) }
    func snapshot(_ commit: String) -> URL { repoFolder.appendingPathComponent("snapshots").appendingPathComponent(commit) }
    func ref(_ revision: String) -> URL { repoFolder.appendingPathComponent("refs").appendingPathComponent(revision) }
    func lock(_ etag: String) -> URL { root.appendingPathComponent(".locks").appendingPathComponent(name.cacheFolderName).appendingPathComponent(etag + ".lock") }

    /// The commit `revision` names in the cache: itself when it is a hash, else what refs/ records.
    func cachedCommit(_ revision: String) -> String? {
        if HubName.isCommit(revision) {
            return FileManager.default.fileExists(atPath: snapshot(revision).path) ? revision : nil
        }
        guard let text = try? String(contentsOf: ref(revision), encoding: .utf8) else { return nil }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return HubName.isCommit(commit) ? commit : nil
    }

    func writeRef(_ revision: String, commit: String) throws {
        guard revision != commit else { return }
        let url = ref(revision)
        try FileManager.default.createFolder(at: url.deletingLastPathComponent())
        if (try? String(contentsOf: url, encoding: .utf8)) == commit { return }
        try AtomicFile.write(Data(commit.utf8), to: url)
    }

    /// Whether snapshots/<commit>/<file> resolves to a complete file.
    func hasFile(_ file: String, commit: String) -> Bool {
        FileManager.default.fileExists(atPath: snapshot(commit).appendingPathComponent(file).path)
    }

    /// Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink, made under a
    /// temporary name and renamed over, so a reader never sees a half-made link.
    func link(_ file: String, commit: String, etag: String) throws {
        let target = snapshot(commit).appendingPathComponent(file)
        let dir = target.deletingLastPathComponent()
        try FileManager.default.createFolder(at: dir)
        let depth = file.split(separator: "/").count - 1
        let relative = String(repeating: "../", count: depth + 2) + "blobs/" + etag
        let tmp = dir.appendingPathComponent(".\(target.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        guard symlink(relative, tmp.path) == 0 else {
            throw ElectraError("cannot create a link in \(dir.path): \(String(cString: strerror(errno)))")
        }
        guard rename(tmp.path, target.path) == 0 else {
            let e = errno
            unlink(tmp.path)
            throw ElectraError("cannot place \(target.path): \(String(cString: strerror(e)))")
        }
    }

    /// Runs `body` while holding the blob's lock file (flock), so two processes fetching the
    /// same file take turns; the second then finds the finished blob.
    func withLock<T>(_ etag: String, _ body: () async throws -> T) async throws -> T {
        let url = lock(etag)
        try FileManager.default.createFolder(at: url.deletingLastPathComponent())
        let fd = open(url.path, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw ElectraError("cannot open the lock file \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // Blocking flock on a worker thread, not the caller's task.
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
            DispatchQueue.global().async {
                while flock(fd, LOCK_EX) != 0 {
                    if errno == EINTR { continue }
                    c.resume(throwing: ElectraError("cannot lock \(url.path): \(String(cString: strerror(errno)))"))
                    return
                }
                c.resume()
            }
        }
        defer { flock(fd, LOCK_UN) }
        return try await body()
    }
}
