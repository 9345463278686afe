import AsyncHTTPClient
import Crypto
import Electra
import Foundation
import NIOCore
import NIOHTTP1

/// Resolves Hub names to local model folders in the Hugging Face cache, downloading only what
/// a model needs. Python's huggingface_hub reads what this writes and the other way round.
///
///     let folder = try await HubClient().snapshot(HubName("google/electra-small-discriminator")!)
public final class HubClient: Sendable {
    public let environment: HubEnvironment
    /// Called with (file, bytes so far, bytes in all) while a file downloads.
    public let progress: (@Sendable (_ file: String, _ done: Int64, _ total: Int64?) -> Void)?
    /// How long to keep trying to connect before the Hub counts as unreachable.
    public let connectTimeout: Int64

    public init(environment: HubEnvironment = .current(), connectTimeoutSeconds: Int64 = 10,
                progress: (@Sendable (_ file: String, _ done: Int64, _ total: Int64?) -> Void)? = nil) {
        self.environment = environment
        self.progress = progress
        connectTimeout = connectTimeoutSeconds
    }

    /// The snapshot folder of `name` with config.json, the tokenizer files and one weights
    /// format. Offline (HF_HUB_OFFLINE=1) or when the Hub cannot be reached, the cached
    /// snapshot is used; without one that is an error.
    public func snapshot(_ name: HubName) async throws -> URL {
        let cache = HubCache(root: environment.cache, name: name)
        if environment.offline {
            return try cachedSnapshot(cache, reason: "offline (HF_HUB_OFFLINE is set)")
        }
        if let problem = environment.proxyProblem { throw ElectraError(problem) }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(connectTimeout), read: .seconds(60)),
            proxy: environment.proxy.map(Self.proxy)))
        do {
            let result = try await download(name, cache: cache, client: client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            if let unreachable = error as? Unreachable {
                return try cachedSnapshot(cache, reason: "cannot reach \(environment.endpoint) (\(unreachable.reason))")
            }
            // As huggingface_hub's snapshot_download: an error answer to the revision request
            // (the Hub down, rate limits, a token refused) falls back to a cached snapshot;
            // only a revision the Hub says does not exist is final.
            if let refused = error as? Refusal {
                if refused.file == nil, refused.kind != "RevisionNotFound", let cached = try? cachedSnapshot(cache, reason: "") {
                    return cached
                }
                throw ElectraError(refused.message)
            }
            throw error
        }
    }

    /// Blocking form for command-line tools: waits for `snapshot` on another thread.
    public func snapshotBlocking(_ name: HubName) throws -> URL {
        final class Box: @unchecked Sendable { var result: Result<URL, Error>? }
        let box = Box(), done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.result = .success(try await self.snapshot(name)) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    struct Unreachable: Error { let reason: String }

    static func proxy(_ p: HubProxy) -> HTTPClient.Configuration.Proxy {
        switch p.kind {
        case .socks5: return .socksServer(host: p.host, port: p.port)
        case .http:
            let auth = p.username.map { HTTPClient.Authorization.basic(username: $0, password: p.password ?? "") }
            return .server(host: p.host, port: p.port, authorization: auth)
        }
    }

    /// An error answer from the Hub: its message for users, for which file (nil: the
    /// revision request) and huggingface_hub's X-Error-Code.
    struct Refusal: Error {
        let message: String
        let file: String?
        let kind: String
    }

    func cachedSnapshot(_ cache: HubCache, reason: String) throws -> URL {
        if let commit = cache.cachedCommit(cache.name.revision), cache.hasFile("config.json", commit: commit) {
            return cache.snapshot(commit)
        }
        throw ElectraError("\(reason) and \(cache.name) is not in the cache (\(environment.cache.path))")
    }

    // MARK: The protocol

    func download(_ name: HubName, cache: HubCache, client: HTTPClient) async throws -> URL {
        let info = try await revisionInfo(name, client: client)
        let (files, index) = try FileSelection.plan(info.siblings, repo: name.repo)
        for f in files { try await fetch(f, name: name, commit: info.sha, cache: cache, client: client) }
        if let index {
            let shards = try FileSelection.shards(index: cache.snapshot(info.sha).appendingPathComponent(index))
            let have = Set(info.siblings)
            for s in shards {
                guard have.contains(s) else { throw ElectraError("\(name.repo): \(index) names \(s), which the repo does not hold") }
                try await fetch(s, name: name, commit: info.sha, cache: cache, client: client)
            }
        }
        try cache.writeRef(name.revision, commit: info.sha)
        return cache.snapshot(info.sha)
    }

    struct RevisionInfo { var sha: String; var siblings: [String] }

    /// GET /api/models/{repo}/revision/{revision}: the commit and the file list.
    func revisionInfo(_ name: HubName, client: HTTPClient) async throws -> RevisionInfo {
        let url = "\(environment.endpoint)/api/models/\(name.repo)/revision/\(Self.escape(name.revision))"
        // A renamed or moved repo answers with a relative redirect to its new name.
        let (response, _) = try await sendFollowingHubRedirects(url, method: .GET, client: client)
        try check(response, name: name, file: nil)
        guard response.status.code == 200 else {
            throw ElectraError("the Hub answered HTTP \(response.status.code) for the revision of \(name)")
        }
        let body = try await collect(response, limit: 64 << 20)
        let json = try JSONValue.parse(body, source: "the Hub's answer for \(name.repo)@\(name.revision)")
        guard let sha = json.objectValue?["sha"]?.stringValue, HubName.isCommit(sha) else {
            throw ElectraError("the Hub's answer for \(name) has no commit sha")
        }
        let siblings = (json.objectValue?["siblings"]?.arrayValue ?? []).compactMap { $0.objectValue?["rfilename"]?.stringValue }
        return RevisionInfo(sha: sha, siblings: siblings)
    }

    /// One file into blobs/ and its link into snapshots/<commit>/, unless already there.
    func fetch(_ file: String, name: HubName, commit: String, cache: HubCache, client: HTTPClient) async throws {
        if cache.hasFile(file, commit: commit) { return }
        // HEAD: the blob's name (ETag, or X-Linked-Etag for LFS files) and size; an absolute
        // redirect (LFS on a CDN) is where the bytes come from, a relative one is followed.
        let (head, url) = try await sendFollowingHubRedirects("\(environment.endpoint)/\(name.repo)/resolve/\(commit)/\(Self.escapePath(file))",
                                                              method: .HEAD, client: client)
        try check(head, name: name, file: file)
        guard let etag = Self.etag(head.headers) else {
            throw ElectraError("the Hub sent no ETag for \(file) of \(name); cannot place it in the cache")
        }
        let size = (head.headers.first(name: "X-Linked-Size") ?? head.headers.first(name: "Content-Length")).flatMap { Int64($0) }
        let source = (300..<400).contains(head.status.code) ? head.headers.first(name: "Location") ?? url : url
        if !FileManager.default.fileExists(atPath: cache.blob(etag).path) {
            try await cache.withLock(etag) {
                // Another process may have finished it while we waited.
                if FileManager.default.fileExists(atPath: cache.blob(etag).path) { return }
                try await getBlob(source, etag: etag, size: size, file: file, name: name, cache: cache, client: client)
            }
        }
        try cache.link(file, commit: commit, etag: etag)
    }

    /// GET into blobs/<etag>.incomplete (resuming with a Range request), check size and hash,
    /// then rename to blobs/<etag>: a blob appears only complete.
    func getBlob(_ url: String, etag: String, size: Int64?, file: String, name: HubName, cache: HubCache, client: HTTPClient) async throws {
        try FileManager.default.createFolder(at: cache.blobs)
        let partial = cache.blobs.appendingPathComponent(etag + ".incomplete")
        var have = (try? FileManager.default.attributesOfItem(atPath: partial.path)[.size] as? Int64) ?? 0
        if let size, have > size { have = 0 }
        // A partial file of the full size (a run stopped while checking it) needs no request.
        if let size, size > 0, have == size {
            try verifyAndPlace(partial, etag: etag, size: size, file: file, name: name, cache: cache)
            return
        }
        var headers = HTTPHeaders()
        if have > 0 { headers.add(name: "Range", value: "bytes=\(have)-") }
        let response = try await send(url, method: .GET, client: client, extraHeaders: headers)
        if response.status.code == 416 { have = 0 }
        guard response.status.code == 200 || response.status.code == 206 || response.status.code == 416 else {
            try check(response, name: name, file: file)
            throw ElectraError("downloading \(file) of \(name): HTTP \(response.status.code)")
        }
        if response.status.code == 200 { have = 0 }
        /// Local failures (a full disk, permissions) name the file and the reason, not the network.
        func local<T>(_ body: () throws -> T) throws -> T {
            do { return try body() } catch { throw ElectraError("cannot write \(partial.path): \(ElectraError(describing: error).message)") }
        }
        if !FileManager.default.fileExists(atPath: partial.path) || have == 0 {
            guard FileManager.default.createFile(atPath: partial.path, contents: nil) else {
                throw ElectraError("cannot write \(partial.path)")
            }
        }
        let handle = try local { try FileHandle(forWritingTo: partial) }
        defer { try? handle.close() }
        try local { try handle.truncate(atOffset: UInt64(have)) }
        _ = try local { try handle.seekToEnd() }
        if response.status.code != 416 {
            var done = have
            do {
                for try await chunk in response.body {
                    try local { try handle.write(contentsOf: Data(chunk.readableBytesView)) }
                    done += Int64(chunk.readableBytes)
                    progress?(file, done, size)
                }
            } catch let e as ElectraError {
                throw e
            } catch {
                throw ElectraError("downloading \(file) of \(name) failed after \(done) bytes (\(error)); run again to resume")
            }
        }
        try local { try handle.synchronize() }
        try local { try handle.close() }
        try verifyAndPlace(partial, etag: etag, size: size, file: file, name: name, cache: cache)
    }

    /// Checks a downloaded file's size and hash, then renames it to blobs/<etag>.
    func verifyAndPlace(_ partial: URL, etag: String, size: Int64?, file: String, name: HubName, cache: HubCache) throws {
        let data: Data
        do { data = try Data(contentsOf: partial, options: .alwaysMapped) } catch {
            throw ElectraError("cannot read \(partial.path): \(ElectraError(describing: error).message)")
        }
        if let size, Int64(data.count) != size {
            throw ElectraError("downloading \(file) of \(name): got \(data.count) bytes of \(size); run again to resume")
        }
        if etag.count == 64 {
            let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            guard digest == etag else {
                try? FileManager.default.removeItem(at: partial)
                throw ElectraError("\(file) of \(name) does not match its sha256 (\(etag)); the partial download was removed, run again")
            }
        } else if etag.count == 40 {
            // A regular (non-LFS) file: its ETag is the git blob hash.
            var hasher = Insecure.SHA1()
            hasher.update(data: Data("blob \(data.count)\0".utf8))
            hasher.update(data: data)
            let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
            guard digest == etag else {
                try? FileManager.default.removeItem(at: partial)
                throw ElectraError("\(file) of \(name) does not match its git hash (\(etag)); the partial download was removed, run again")
            }
        }
        guard rename(partial.path, cache.blob(etag).path) == 0 else {
            throw ElectraError("cannot move \(partial.path) into place: \(String(cString: strerror(errno)))")
        }
    }

    // MARK: HTTP

    /// `send`, following up to 5 relative redirects (the Hub's own: a renamed repo, a file
    /// resolved elsewhere); an absolute one (a CDN) is returned. Also the URL answered.
    func sendFollowingHubRedirects(_ start: String, method: HTTPMethod, client: HTTPClient) async throws -> (HTTPClientResponse, String) {
        var url = start
        var response = try await send(url, method: method, client: client)
        for _ in 0..<5 where (300..<400).contains(response.status.code) {
            guard let location = response.headers.first(name: "Location"), location.hasPrefix("/") else { break }
            url = environment.endpoint + location
            response = try await send(url, method: method, client: client)
        }
        return (response, url)
    }

    func send(_ url: String, method: HTTPMethod, client: HTTPClient, extraHeaders: HTTPHeaders = [:]) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: "electra-swift/1.0; hf_hub/0.36")
        request.headers.add(name: "Accept-Encoding", value: "identity")
        // The token goes to the Hub only, not to a CDN a redirect points at.
        if let token = environment.token, url.hasPrefix(environment.endpoint + "/") {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        request.headers.add(contentsOf: extraHeaders)
        do {
            return try await client.execute(request, timeout: .seconds(120))
        } catch let error as HTTPClientError {
            throw Unreachable(reason: "\(error)")
        } catch let error as ChannelError {
            throw Unreachable(reason: "\(error)")
        } catch let error as IOError {
            throw Unreachable(reason: error.description)
        } catch {
            throw Unreachable(reason: "\(error)")
        }
    }

    /// The Hub's errors as messages that say what to do (X-Error-Code as huggingface_hub reads it).
    func check(_ response: HTTPClientResponse, name: HubName, file: String?) throws {
        let code = response.status.code
        if code < 400 { return }
        let kind = response.headers.first(name: "X-Error-Code") ?? ""
        do {
            try explain(code, kind: kind, name: name, file: file)
        } catch let e as ElectraError {
            // The Hub's own words where it gives them ("Invalid credentials in Authorization header").
            let says = response.headers.first(name: "X-Error-Message").map { " (the Hub says: \($0))" } ?? ""
            throw Refusal(message: e.message + says, file: file, kind: kind)
        }
    }

    private func explain(_ code: UInt, kind: String, name: HubName, file: String?) throws {
        let tokenHint = environment.token == nil ? "set HF_TOKEN (or log in with `hf auth login`)" : "the token in use has no access"
        switch (code, kind) {
        case (_, "GatedRepo"):
            throw ElectraError("\(name.repo) is gated: accept its terms on \(environment.endpoint)/\(name.repo) and \(tokenHint)")
        case (_, "RepoNotFound"), (401, ""):
            throw ElectraError("repository \(name.repo) was not found on \(environment.endpoint) (if it is private, \(tokenHint))")
        case (_, "RevisionNotFound"):
            throw ElectraError("revision '\(name.revision)' was not found in \(name.repo)")
        case (_, "EntryNotFound"):
            throw ElectraError("\(file ?? "a file") was not found in \(name.repo) at revision \(name.revision)")
        case (403, _):
            throw ElectraError("access to \(name.repo) was refused (HTTP 403); \(tokenHint)")
        case (404, _):
            throw ElectraError(file.map { "\($0) was not found in \(name.repo) at revision \(name.revision)" } ?? "\(name) was not found on \(environment.endpoint)")
        default:
            throw ElectraError("the Hub answered HTTP \(code) for \(file ?? "the revision") of \(name)")
        }
    }

    func collect(_ response: HTTPClientResponse, limit: Int) async throws -> Data {
        do {
            var buffer = try await response.body.collect(upTo: limit)
            return Data(buffer.readBytes(length: buffer.readableBytes) ?? [])
        } catch {
            throw Unreachable(reason: "\(error)")
        }
    }

    /// The blob name: X-Linked-Etag (LFS: the sha256) else ETag, without W/ and quotes.
    static func etag(_ headers: HTTPHeaders) -> String? {
        guard var e = headers.first(name: "X-Linked-Etag") ?? headers.first(name: "ETag") else { return nil }
        if e.hasPrefix("W/") { e.removeFirst(2) }
        e = e.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard !e.isEmpty, e.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }) else { return nil }
        return e
    }

    /// RFC 3986's unreserved characters, ASCII only (`.alphanumerics` would pass any letter).
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: unreserved) ?? s
    }

    static func escapePath(_ s: String) -> String {
        s.split(separator: "/").map { escape(String($0)) }.joined(separator: "/")
    }
}
