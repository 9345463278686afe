import Electra
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The HTTP surface: routes, the API key, the concurrency limit (429), the body cap, metrics,
/// TEI's error bodies and timing headers.
enum Routes {
    static func router(handlers: Handlers, metrics: ServerMetrics, config: ServerConfiguration) -> Router<ServeRequestContext> {
        let router = Router(context: ServeRequestContext.self)
        let limiter = ConcurrencyLimit(maximum: config.maxConcurrentRequests)
        let served = handlers.served

        let json = Self.json
        let known = OpenAPIDocument.requestFields(routes: served.routes, hidden: served.model.config.hiddenSize,
                                                  maxLength: served.maxInputLength, maxBatch: config.maxClientBatchSize)
        let authorized = { @Sendable (request: Request) -> Bool in Self.authorized(request, key: config.apiKey) }

        /// A POST route: key, body cap, JSON parsing, the in-flight limit, errors as TEI's bodies.
        func post(_ path: String, inputs: @escaping @Sendable (JSONRequest) -> Int = { _ in 1 },
                  _ body: @escaping @Sendable (JSONRequest) async throws -> Handlers.Output) {
            router.post(RouterPath(stringLiteral: path)) { request, context -> Response in
                let started = Date()
                var status = 200
                defer { metrics.request(route: path, status: status, seconds: Date().timeIntervalSince(started)) }
                guard authorized(request) else {
                    status = 401
                    return Response(status: .unauthorized)
                }
                do {
                    var request = request
                    let buffer: ByteBuffer
                    do { buffer = try await request.collectBody(upTo: config.payloadLimit) } catch {
                        throw APIError(413, .Validation, "the request body is larger than the payload limit (\(config.payloadLimit) bytes)")
                    }
                    let parsed = try JSONRequest(Data(buffer.readableBytesView))
                    // A field the route does not read (a typo, another API's name) is refused, not
                    // ignored; a missing required one is the handler's to name first (TEI's message).
                    // null means "not given" (clients send their unset parameters so): no request.
                    if let fields = known[path], fields.required.allSatisfy(parsed.has),
                       let unknown = parsed.fields.keys.sorted().first(where: { !fields.all.contains($0) && parsed.has($0) }) {
                        throw APIError.field("unknown field `\(unknown)`; \(path) reads \(fields.all.sorted().map { "`\($0)`" }.joined(separator: ", "))")
                    }
                    let n = inputs(parsed)
                    guard limiter.acquire(n) else { throw APIError.overloaded }
                    defer { limiter.release(n) }
                    // The batcher drops this request uncomputed if its client goes away meanwhile.
                    let out = try await ClientConnection.$current.withValue(context.connection) { try await body(parsed) }
                    let elapsed = Int(Date().timeIntervalSince(started) * 1000)
                    var headers: HTTPFields = [:]
                    headers[HTTPField.Name("x-total-time")!] = "\(elapsed)"
                    headers[HTTPField.Name("x-compute-tokens")!] = "\(out.tokens)"
                    headers[HTTPField.Name("x-compute-characters")!] = "\(out.characters)"
                    return json(.ok, JSONWriter.write(out.json), headers)
                } catch let e as APIError {
                    status = e.status
                    return json(HTTPResponse.Status(code: e.status), e.body, [:])
                } catch is CancellationError {
                    status = 499
                    return json(HTTPResponse.Status(code: 503), APIError(503, .Unhealthy, "the request was cancelled").body, [:])
                } catch let e as ElectraError {
                    status = 422
                    return json(.unprocessableContent, APIError.field(e.message).body, [:])
                } catch {
                    status = 424
                    return json(HTTPResponse.Status(code: 424), APIError.backend("\(error)").body, [:])
                }
            }
        }

        func count(_ key: String) -> @Sendable (JSONRequest) -> Int {
            { r in (r.fields[key] as? [Any])?.count ?? 1 }
        }

        post("/embed", inputs: count("inputs")) { try await handlers.embed($0, all: false) }
        post("/embed_all", inputs: count("inputs")) { try await handlers.embed($0, all: true) }
        post("/v1/embeddings", inputs: count("input")) { try await handlers.openAIEmbeddings($0) }
        post("/embeddings", inputs: count("input")) { try await handlers.openAIEmbeddings($0) }
        post("/tokenize", inputs: count("inputs")) { try handlers.tokenize($0) }
        post("/decode") { try handlers.decode($0) }
        if served.classifier != nil { post("/predict", inputs: count("inputs")) { try await handlers.predict($0) } }
        if served.isReranker { post("/rerank", inputs: count("texts")) { try await handlers.rerank($0) } }
        if served.detector != nil { post("/detect", inputs: count("inputs")) { try await handlers.detect($0) } }
        if served.filler != nil { post("/fill-mask", inputs: count("inputs")) { try await handlers.fillMask($0) } }
        if served.tagger != nil { post("/token-classification", inputs: count("inputs")) { try await handlers.tokenClassification($0) } }
        if served.reader != nil { post("/question-answering", inputs: count("question")) { try await handlers.questionAnswering($0) } }
        // The other model's routes exist too, and say why they do not apply (TEI: 424).
        let absent = ["/predict", "/rerank", "/detect", "/fill-mask", "/token-classification", "/question-answering"].filter { !served.routes.contains($0) }
        for path in absent {
            post(path) { _ in
                let arch = served.model.config.architectures?.first ?? "ElectraModel"
                throw APIError.backend("this server's model (\(arch)) does not serve \(path); it serves \(served.routes.joined(separator: ", "))")
            }
        }

        // Any other method on a route (TRACE, QUERY, or one HTTP has not named yet): 405 with
        // Allow, not 404.
        var allowed: [String: [HTTPRequest.Method]] = [:]
        for path in served.routes + ["/embeddings"] + absent { allowed[path] = [.post] }
        for path in ["/info", "/health", "/ping", "/", "/metrics", "/openapi.json"] { allowed[path] = [.get, .head] }
        router.middlewares.add(MethodNotAllowed(allowed: allowed))

        router.get("/info") { request, _ -> Response in
            guard authorized(request) else { return Response(status: .unauthorized) }
            return json(.ok, JSONWriter.write(handlers.info().json), [:])
        }
        for path in ["/health", "/ping", "/"] {
            router.get(RouterPath(stringLiteral: path)) { _, _ -> Response in Response(status: .ok) }
        }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        router.get("/openapi.json") { _, _ -> Response in
            json(.ok, OpenAPIDocument.json(routes: served.routes, apiKey: config.apiKey != nil, hidden: served.model.config.hiddenSize,
                                           maxLength: served.maxInputLength, maxBatch: config.maxClientBatchSize), [:])
        }
        return router
    }
}

extension Routes {
    @Sendable static func json(_ status: HTTPResponse.Status, _ text: String, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// `Authorization: Bearer <key>` exactly, as TEI checks it.
    static func authorized(_ request: Request, key: String?) -> Bool {
        guard let key else { return true }
        return request.headers[.authorization] == "Bearer \(key)"
    }
}

/// A known path asked with a method it does not serve: 405 with the methods it does (the
/// router alone answers 404, as for a path it does not know).
struct MethodNotAllowed: RouterMiddleware {
    typealias Context = ServeRequestContext
    let allowed: [String: (methods: [HTTPRequest.Method], header: String)]

    init(allowed: [String: [HTTPRequest.Method]]) {
        self.allowed = allowed.mapValues { ($0, $0.map(\.rawValue).joined(separator: ", ")) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let route = allowed[request.uri.path], !route.methods.contains(request.method) {
            return Response(status: .methodNotAllowed, headers: [.allow: route.header])
        }
        return try await next(request, context)
    }
}

/// Inputs in flight; a request that would pass the limit is refused (429), as TEI's try_acquire.
final class ConcurrencyLimit: @unchecked Sendable {
    let maximum: Int
    var current = 0
    let lock = NSLock()
    init(maximum: Int) { self.maximum = maximum }

    func acquire(_ n: Int) -> Bool {
        lock.withLock {
            guard current + n <= maximum else { return false }
            current += n
            return true
        }
    }

    func release(_ n: Int) { lock.withLock { current -= n } }
}
