import Foundation
import NIOHTTP1
import Testing

@testable import ElectraHub

/// The Hub client against the mock Hub on loopback: what it downloads, the cache it writes
/// (huggingface_hub's layout), and every failure a user can meet.
@Suite(.serialized)
final class HubClientTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let hub = MockHub()
    let cache: URL
    let commit = MockHub.commitHash("first"), tagged = MockHub.commitHash("second")

    init() throws {
        cache = FileManager.default.temporaryDirectory.appendingPathComponent("hub-cache-\(UUID().uuidString)")
        // A classifier folder of the pipeline fixtures, plus files a model does not need.
        let folder = Self.root.appendingPathComponent("Tests/ElectraPipelinesTests/Fixtures/pipelines/seqcls-3")
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            files[name] = try Data(contentsOf: folder.appendingPathComponent(name))
        }
        files["README.md"] = Data("# tiny\n".utf8)
        files["pytorch_model.bin"] = Data(repeating: 1, count: 1000)
        files["onnx/model.onnx"] = Data(repeating: 2, count: 100)
        var second = files
        second["config.json"] = files["config.json"]! + Data("\n".utf8)
        hub.repos["test-org/tiny"] = .init(commits: [commit: files, tagged: second], refs: ["main": commit, "v2": tagged], gatedToken: nil)
        hub.repos["test-org/gated"] = .init(commits: [commit: files], refs: ["main": commit], gatedToken: "secret")
        // Sharded safetensors (and no single file).
        let sharded = Self.root.appendingPathComponent("Tests/ElectraTests/Fixtures/models/base_gelu_e16_h32_sharded/model")
        var shardFiles: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: sharded.path) {
            shardFiles[name] = try Data(contentsOf: sharded.appendingPathComponent(name))
        }
        hub.repos["test-org/sharded"] = .init(commits: [commit: shardFiles], refs: ["main": commit], gatedToken: nil)
        try hub.start()
    }

    deinit {
        hub.stop()
        try? FileManager.default.removeItem(at: cache)
    }

    func client(token: String? = nil, offline: Bool = false, endpoint: String? = nil) -> HubClient {
        HubClient(environment: HubEnvironment(endpoint: endpoint ?? hub.endpoint, token: token, offline: offline, cache: cache),
                  connectTimeoutSeconds: 1)
    }

    @Test func downloadsOnlyWhatAModelNeedsIntoHuggingFaceHubsLayout() async throws {
        let folder = try await client().snapshot(HubName("test-org/tiny")!)
        let repo = cache.appendingPathComponent("models--test-org--tiny")
        #expect(folder.path == repo.appendingPathComponent("snapshots/\(commit)").path)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names == ["config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"])
        #expect(try String(contentsOf: repo.appendingPathComponent("refs/main"), encoding: .utf8) == commit)
        // Snapshot files are relative links to blobs named by sha256 (LFS) or the git hash.
        let weights = hub.repos["test-org/tiny"]!.commits[commit]!["model.safetensors"]!
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: folder.appendingPathComponent("model.safetensors").path)
        #expect(link == "../../blobs/\(MockHub.sha256(weights))")
        let config = hub.repos["test-org/tiny"]!.commits[commit]!["config.json"]!
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: folder.appendingPathComponent("config.json").path) == "../../blobs/\(MockHub.gitSHA1(config))")
        #expect(try Data(contentsOf: folder.appendingPathComponent("model.safetensors")) == weights)
        #expect(hub.requests("GET /lfs/").count == 1 && hub.requests("GET /test-org/tiny/resolve").allSatisfy { !$0.request.contains("pytorch_model") })
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: repo.appendingPathComponent("blobs").path).filter { $0.hasSuffix(".incomplete") }
        #expect(leftovers.isEmpty)

        // A second resolve asks for the revision only; offline, it asks nothing.
        let before = hub.requests("").count
        #expect(try await client().snapshot(HubName("test-org/tiny")!) == folder)
        #expect(hub.requests("").count == before + 1)
        #expect(try await client(offline: true).snapshot(HubName("test-org/tiny")!) == folder)
        #expect(hub.requests("").count == before + 1)
    }

    @Test func revisionsTagsAndCommits() async throws {
        let v2 = try await client().snapshot(HubName("test-org/tiny@v2")!)
        #expect(v2.lastPathComponent == tagged)
        let refs = cache.appendingPathComponent("models--test-org--tiny/refs")
        #expect(try String(contentsOf: refs.appendingPathComponent("v2"), encoding: .utf8) == tagged)
        let pinned = try await client().snapshot(HubName("test-org/tiny@\(commit)")!)
        #expect(pinned.lastPathComponent == commit)
        #expect(!FileManager.default.fileExists(atPath: refs.appendingPathComponent(commit).path), "a commit needs no ref")
        // Blobs both snapshots share are stored once.
        let blobs = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("models--test-org--tiny/blobs").path)
        #expect(blobs.count == 7, "\(blobs)")
    }

    @Test func shardedSafetensorsBringTheirShards() async throws {
        let folder = try await client().snapshot(HubName("test-org/sharded")!)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        #expect(names.contains("model.safetensors.index.json") && names.filter { $0.hasPrefix("model-0") }.count >= 2, "\(names)")
    }

    @Test func errorsSayWhatToDo() async throws {
        func message(_ name: String, token: String? = nil, offline: Bool = false, endpoint: String? = nil) async -> String {
            do {
                _ = try await client(token: token, offline: offline, endpoint: endpoint).snapshot(HubName(name)!)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(await message("test-org/missing").contains("repository test-org/missing was not found"))
        #expect(await message("test-org/gated").contains("is gated") )
        #expect(await message("test-org/gated").contains("HF_TOKEN"))
        #expect(await message("test-org/gated", token: "secret") == "no error")
        #expect(await message("test-org/tiny@nope").contains("revision 'nope' was not found in test-org/tiny"))
        #expect(await message("test-org/other", offline: true).contains("offline (HF_HUB_OFFLINE is set) and test-org/other is not in the cache"))
        // Nothing listens on port 9 of loopback: no network, nothing cached.
        #expect(await message("test-org/tiny", endpoint: "http://127.0.0.1:9").contains("cannot reach http://127.0.0.1:9"))
        // With the model cached, an unreachable Hub falls back to the cache.
        _ = try await client().snapshot(HubName("test-org/tiny")!)
        #expect(await message("test-org/tiny", endpoint: "http://127.0.0.1:9") == "no error")
        // An unknown file (no weights in this repo at all).
        hub.repos["test-org/noweights"] = .init(commits: [commit: ["config.json": Data("{}".utf8)]], refs: ["main": commit], gatedToken: nil)
        #expect(await message("test-org/noweights").contains("holds no weights"))
    }

    /// huggingface_hub's snapshot_download: an error answer to the revision request falls back
    /// to the cache (a revision the Hub says does not exist does not); a renamed repo's
    /// redirect is followed; a refused token shows the Hub's own message.
    @Test func hubErrorsFallBackToTheCacheAsHuggingfaceHubDoes() async throws {
        func message(_ name: String, token: String? = nil) async -> String {
            do {
                _ = try await client(token: token).snapshot(HubName(name)!)
                return "no error"
            } catch { return "\(error)" }
        }
        hub.failRevisions = .serviceUnavailable
        #expect(await message("test-org/tiny").contains("the Hub answered HTTP 503 for the revision of test-org/tiny"))
        hub.failRevisions = nil
        let folder = try await client().snapshot(HubName("test-org/tiny")!)
        for status in [HTTPResponseStatus.serviceUnavailable, .tooManyRequests, .internalServerError] {
            hub.failRevisions = status
            #expect(try await client().snapshot(HubName("test-org/tiny")!) == folder, "\(status)")
        }
        hub.failRevisions = nil
        #expect(await message("test-org/tiny@nope").contains("revision 'nope' was not found"))
        #expect(await message("test-org/tiny", token: "bad") == "no error")  // cached
        #expect(await message("test-org/gated", token: "bad").contains("the Hub says: Invalid credentials in Authorization header"))

        hub.renamed["old-org/tiny"] = "test-org/tiny"
        let moved = try await client().snapshot(HubName("old-org/tiny")!)
        #expect(FileManager.default.fileExists(atPath: moved.appendingPathComponent("config.json").path))
    }

    /// A partial file that is already whole (a run stopped while checking its hash) is checked
    /// and placed without a request; it used to be truncated and downloaded again.
    @Test func aWholePartialFileIsPlacedWithoutDownloading() async throws {
        let weights = hub.repos["test-org/tiny"]!.commits[commit]!["model.safetensors"]!
        let blobs = cache.appendingPathComponent("models--test-org--tiny/blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try weights.write(to: blobs.appendingPathComponent(MockHub.sha256(weights) + ".incomplete"))
        let folder = try await client().snapshot(HubName("test-org/tiny")!)
        #expect(hub.requests("GET /lfs/").isEmpty)
        #expect(try Data(contentsOf: folder.appendingPathComponent("model.safetensors")) == weights)
    }

    @Test func anInterruptedDownloadResumesWithARangeRequest() async throws {
        hub.cutNextLFSAfter = 10_000
        await #expect(throws: (any Error).self) { try await self.client().snapshot(HubName("test-org/tiny")!) }
        let repo = cache.appendingPathComponent("models--test-org--tiny")
        let blobs = try FileManager.default.contentsOfDirectory(atPath: repo.appendingPathComponent("blobs").path)
        let partial = blobs.filter { $0.hasSuffix(".incomplete") }
        #expect(partial.count == 1)
        #expect(!FileManager.default.fileExists(atPath: repo.appendingPathComponent("snapshots/\(commit)/model.safetensors").path))
        let size = try FileManager.default.attributesOfItem(atPath: repo.appendingPathComponent("blobs/\(partial[0])").path)[.size] as! Int
        #expect(size == 10_000)
        let folder = try await client().snapshot(HubName("test-org/tiny")!)
        #expect(hub.requests("GET /lfs/").last?.range == "bytes=10000-")
        #expect(try Data(contentsOf: folder.appendingPathComponent("model.safetensors")) == hub.repos["test-org/tiny"]!.commits[commit]!["model.safetensors"]!)
    }

    @Test func aCorruptDownloadIsRefusedAndLeavesNoBlob() async throws {
        hub.corruptNextLFS = true
        do {
            _ = try await client().snapshot(HubName("test-org/tiny")!)
            Issue.record("a corrupt file was accepted")
        } catch {
            #expect("\(error)".contains("does not match its sha256"), "\(error)")
        }
        let blobs = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("models--test-org--tiny/blobs").path)
        let sha = MockHub.sha256(hub.repos["test-org/tiny"]!.commits[commit]!["model.safetensors"]!)
        #expect(!blobs.contains(sha) && !blobs.contains(sha + ".incomplete"))
    }

    /// docs/library.md's Hub example, with a discriminator served under Google's name.
    @Test func theGuidesHubExampleRuns() async throws {
        let folder = Self.root.appendingPathComponent("Tests/ElectraPipelinesTests/Fixtures/pipelines/pretraining")
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            files[name] = try Data(contentsOf: folder.appendingPathComponent(name))
        }
        hub.repos["google/electra-small-discriminator"] = .init(commits: [commit: files], refs: ["main": commit], gatedToken: nil)
        let words = try await detectWithAHubModel("the chef cooked the meal", hub: client())
        #expect(words.allSatisfy { "the chef cooked the meal".contains($0) })
        #expect(hub.requests("GET /api/models/google/electra-small-discriminator/revision/main").count == 1)
    }

    /// http_proxy, as Python's requests reads it: the client asks the proxy (the mock Hub,
    /// which refuses) to CONNECT to the endpoint, with the proxy's Basic authorization.
    @Test func requestsGoThroughTheProxyOfTheEnvironment() async throws {
        let env = ["HOME": "/home/u", "HF_HUB_CACHE": cache.path, "HF_ENDPOINT": "http://hub.invalid",
                   "http_proxy": "http://user:p%40ss@127.0.0.1:\(hub.port)"]
        let e = HubEnvironment.current(env)
        #expect(e.proxy == HubProxy(kind: .http, host: "127.0.0.1", port: hub.port, username: "user", password: "p@ss"))
        await #expect(throws: (any Error).self) { try await HubClient(environment: e, connectTimeoutSeconds: 1).snapshot(HubName("test-org/tiny")!) }
        #expect(hub.requests("CONNECT hub.invalid:80").count >= 1)
        #expect(hub.proxyAuthorizations.first == "Basic " + Data("user:p@ss".utf8).base64EncodedString())
    }

    @Test func twoClientsFetchingTogetherDownloadOnce() async throws {
        let first = client(), second = client()
        async let a = first.snapshot(HubName("test-org/tiny")!)
        async let b = second.snapshot(HubName("test-org/tiny")!)
        let (x, y) = try await (a, b)
        #expect(x == y)
        #expect(hub.requests("GET /lfs/").count == 1)
    }
}

struct HubNameTests {
    @Test func parsesRepoAndRevision() {
        #expect(HubName("google/electra-small-discriminator") == HubName(repo: "google/electra-small-discriminator"))
        #expect(HubName("org/name@v1.0")?.revision == "v1.0")
        #expect(HubName("org/name@refs/pr/1")?.revision == "refs/pr/1")
        for bad in ["name", "a/b/c", "/abs/path", "org/", "org/na--me", "./x", "org/name@", "org/-x", "../up"] {
            #expect(HubName(bad) == nil, "\(bad)")
        }
        #expect(HubName("org/name")!.cacheFolderName == "models--org--name")
    }

    @Test func environmentIsReadAsHuggingfaceHubReadsIt() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("hf-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        try "stored-token\n".write(to: home.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let e = HubEnvironment.current(["HOME": "/home/u", "HF_HOME": home.path, "HF_ENDPOINT": "http://mirror/", "HF_HUB_OFFLINE": "1"])
        #expect(e.endpoint == "http://mirror" && e.offline && e.token == "stored-token")
        #expect(e.cache.path == home.appendingPathComponent("hub").path)
        let d = HubEnvironment.current(["HOME": "/home/u", "HF_TOKEN": "t", "HF_HUB_CACHE": "/c"])
        #expect(d.endpoint == "https://huggingface.co" && !d.offline && d.token == "t" && d.cache.path == "/c")
        #expect(HubEnvironment.current(["HOME": "/home/u"]).cache.path == "/home/u/.cache/huggingface/hub")
    }

    @Test func proxyVariablesAreReadAsPythonsRequestsReadsThem() {
        func proxy(_ env: [String: String]) -> HubProxy? { HubEnvironment.current(["HOME": "/home/u"].merging(env) { a, _ in a }).proxy }
        #expect(proxy(["HTTPS_PROXY": "http://proxy.corp:3128"]) == HubProxy(kind: .http, host: "proxy.corp", port: 3128))
        #expect(proxy(["https_proxy": "proxy.corp"]) == HubProxy(kind: .http, host: "proxy.corp", port: 80))
        #expect(proxy(["ALL_PROXY": "socks5://gw:1081"]) == HubProxy(kind: .socks5, host: "gw", port: 1081))
        #expect(proxy(["HTTP_PROXY": "http://p:1"]) == nil)  // the endpoint is https
        for bypass in ["*", "huggingface.co", ".huggingface.co", "example.org, huggingface.co:443"] {
            #expect(proxy(["HTTPS_PROXY": "http://p:1", "NO_PROXY": bypass]) == nil, "\(bypass)")
        }
        #expect(proxy(["HTTPS_PROXY": "http://p:1", "no_proxy": "face.co"]) != nil)  // not a domain of huggingface.co
        let bad = HubEnvironment.current(["HOME": "/home/u", "HTTPS_PROXY": "https://p:1"])
        #expect(bad.proxy == nil && bad.proxyProblem == "HTTPS_PROXY=https://p:1: only http:// and socks5:// proxies are supported")
    }
}
