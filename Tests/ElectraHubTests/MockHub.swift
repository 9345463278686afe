import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A Hub on loopback that answers as huggingface.co does: the revision API, /resolve/ with the
/// ETag / X-Repo-Commit / X-Linked-* headers and a redirect for LFS files, Range requests,
/// 401/404 with X-Error-Code. Tests never touch the internet.
final class MockHub: @unchecked Sendable {
    struct Repo {
        var commits: [String: [String: Data]]  // commit -> files
        var refs: [String: String]              // branch or tag -> commit
        var gatedToken: String?                 // requests need "Bearer <token>"
    }

    let lock = NSLock()
    var repos: [String: Repo] = [:]
    /// "METHOD path" of every request, and its Range header.
    private(set) var log: [(request: String, range: String?)] = []
    /// Cut the next LFS body after this many bytes (the connection closes).
    var cutNextLFSAfter: Int?
    /// Send wrong bytes for the next LFS body.
    var corruptNextLFS = false
    /// Answer every revision request with this status (the Hub down, rate limits).
    var failRevisions: HTTPResponseStatus?
    /// The Proxy-Authorization of each CONNECT (this Hub also answers as a proxy that refuses).
    private(set) var proxyAuthorizations: [String?] = []
    /// Old repo id -> new: the revision API and /resolve/ answer with a relative redirect, as
    /// the Hub does for a renamed repo.
    var renamed: [String: String] = [:]
    private var channel: Channel?
    var port: Int { channel!.localAddress!.port! }
    var endpoint: String { "http://127.0.0.1:\(port)" }

    static func commitHash(_ seed: String) -> String {
        Insecure.SHA1.hash(data: Data(seed.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func isLFS(_ file: String) -> Bool {
        [".safetensors", ".bin", ".h5", ".msgpack"].contains { file.hasSuffix($0) }
    }

    static func sha256(_ d: Data) -> String { SHA256.hash(data: d).map { String(format: "%02x", $0) }.joined() }

    static func gitSHA1(_ d: Data) -> String {
        var h = Insecure.SHA1()
        h.update(data: Data("blob \(d.count)\0".utf8))
        h.update(data: d)
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }

    func start() throws {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(hub: self))
                }
            }
        channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
    }

    func stop() { try? channel?.close().wait() }

    func requests(_ prefix: String) -> [(request: String, range: String?)] {
        lock.lock(); defer { lock.unlock() }
        return log.filter { $0.request.hasPrefix(prefix) }
    }

    struct Response {
        var status: HTTPResponseStatus
        var headers: [(String, String)] = []
        var body = Data()
        var cutAfter: Int?
    }

    func error(_ status: HTTPResponseStatus, _ code: String) -> Response {
        Response(status: status, headers: [("X-Error-Code", code), ("Content-Type", "application/json")], body: Data("{\"error\": \"\(code)\"}".utf8))
    }

    func respond(_ head: HTTPRequestHead) -> Response {
        lock.lock(); defer { lock.unlock() }
        let range = head.headers.first(name: "Range")
        log.append(("\(head.method.rawValue) \(head.uri)", range))
        if head.method == .CONNECT {
            proxyAuthorizations.append(head.headers.first(name: "Proxy-Authorization"))
            return Response(status: .forbidden)
        }
        let path = head.uri.removingPercentEncoding ?? head.uri
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let auth = head.headers.first(name: "Authorization")
        func allowed(_ repo: Repo) -> Bool { repo.gatedToken.map { auth == "Bearer \($0)" } ?? true }
        // /api/models/{org}/{name}/revision/{rev}
        if parts.count >= 6, parts[0] == "api", parts[1] == "models", parts[4] == "revision" {
            let id = parts[2] + "/" + parts[3], rev = parts[5...].joined(separator: "/")
            if let status = failRevisions { return Response(status: status) }
            if let to = renamed[id] { return Response(status: .temporaryRedirect, headers: [("Location", "/api/models/\(to)/revision/\(rev)")]) }
            if auth == "Bearer bad" {
                return Response(status: .unauthorized, headers: [("X-Error-Message", "Invalid credentials in Authorization header")])
            }
            guard let repo = repos[id] else { return error(.unauthorized, "RepoNotFound") }
            guard allowed(repo) else { return error(.unauthorized, "GatedRepo") }
            guard let commit = repo.refs[rev] ?? (repo.commits[rev] != nil ? rev : nil) else { return error(.notFound, "RevisionNotFound") }
            let siblings = repo.commits[commit]!.keys.sorted().map { ["rfilename": $0] }
            let body = try! JSONSerialization.data(withJSONObject: ["id": id, "sha": commit, "siblings": siblings])
            return Response(status: .ok, headers: [("Content-Type", "application/json")], body: body)
        }
        // /lfs/{sha256}: the "CDN"
        if parts.count == 2, parts[0] == "lfs" {
            guard let data = repos.values.flatMap({ $0.commits.values.flatMap(\.values) }).first(where: { Self.sha256($0) == parts[1] }) else {
                return Response(status: .notFound)
            }
            var body = data
            if head.method == .GET && corruptNextLFS {
                corruptNextLFS = false
                body = Data(repeating: 7, count: data.count)
            }
            var r = Response(status: .ok, headers: [("Accept-Ranges", "bytes")], body: body)
            if let range, range.hasPrefix("bytes="), let from = Int(range.dropFirst(6).split(separator: "-").first ?? "") {
                guard from < body.count else { return Response(status: .init(statusCode: 416)) }
                r.status = .partialContent
                r.headers.append(("Content-Range", "bytes \(from)-\(body.count - 1)/\(body.count)"))
                r.body = body.subdata(in: from..<body.count)
            }
            if head.method == .GET, let cut = cutNextLFSAfter {
                cutNextLFSAfter = nil
                r.cutAfter = cut
            }
            return r
        }
        // /{org}/{name}/resolve/{rev}/{file...}
        if parts.count >= 5, parts[2] == "resolve" {
            let id = parts[0] + "/" + parts[1], rev = parts[3], file = parts[4...].joined(separator: "/")
            if let to = renamed[id] { return Response(status: .temporaryRedirect, headers: [("Location", "/\(to)/resolve/\(rev)/\(file)")]) }
            guard let repo = repos[id] else { return error(.unauthorized, "RepoNotFound") }
            guard allowed(repo) else { return error(.unauthorized, "GatedRepo") }
            guard let commit = repo.refs[rev] ?? (repo.commits[rev] != nil ? rev : nil) else { return error(.notFound, "RevisionNotFound") }
            guard let data = repo.commits[commit]![file] else { return error(.notFound, "EntryNotFound") }
            if Self.isLFS(file) {
                let sha = Self.sha256(data)
                return Response(status: .found, headers: [
                    ("Location", "\(endpoint)/lfs/\(sha)"), ("X-Repo-Commit", commit), ("X-Linked-Etag", "\"\(sha)\""),
                    ("X-Linked-Size", "\(data.count)"), ("ETag", "\"\(Self.gitSHA1(Data("pointer".utf8)))\""),
                ])
            }
            return Response(status: .ok, headers: [("X-Repo-Commit", commit), ("ETag", "\"\(Self.gitSHA1(data))\"")], body: data)
        }
        return Response(status: .notFound)
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let hub: MockHub
        var head: HTTPRequestHead?
        init(hub: MockHub) { self.hub = hub }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): head = h
            case .body: break
            case .end:
                guard let head else { return }
                let r = hub.respond(head)
                var headers = HTTPHeaders(r.headers)
                headers.replaceOrAdd(name: "Content-Length", value: "\(r.body.count)")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: r.status, headers: headers))), promise: nil)
                if head.method != .HEAD {
                    let body = r.cutAfter.map { r.body.prefix($0) } ?? r.body
                    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
                }
                if r.cutAfter != nil && head.method != .HEAD {
                    context.flush()
                    context.close(promise: nil)
                    return
                }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
