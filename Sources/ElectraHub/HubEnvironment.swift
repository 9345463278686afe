import Electra
import Foundation

/// What huggingface_hub reads from the environment, read the same way: the endpoint, the
/// token (HF_TOKEN, else the stored token file), offline mode, the cache folder and the proxy.
public struct HubEnvironment: Sendable {
    public var endpoint: String
    public var token: String?
    public var offline: Bool
    public var cache: URL
    /// The proxy for the endpoint (HubProxy.swift), nil for none.
    public var proxy: HubProxy?
    /// Why the proxy variables could not be used (reported when the Hub is asked).
    public var proxyProblem: String?

    public init(endpoint: String = "https://huggingface.co", token: String? = nil, offline: Bool = false, cache: URL,
                proxy: HubProxy? = nil) {
        self.endpoint = endpoint
        self.token = token
        self.offline = offline
        self.cache = cache
        self.proxy = proxy
    }

    /// HF_ENDPOINT; HF_TOKEN, else the file at HF_TOKEN_PATH or $HF_HOME/token; HF_HUB_OFFLINE;
    /// HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (HF_HOME defaults to
    /// $XDG_CACHE_HOME/huggingface, then ~/.cache/huggingface); HTTPS_PROXY and the like.
    public static func current(_ env: [String: String] = ProcessInfo.processInfo.environment) -> HubEnvironment {
        func value(_ key: String) -> String? { env[key].flatMap { $0.isEmpty ? nil : $0 } }
        let home = value("HOME") ?? NSHomeDirectory()
        let xdg = value("XDG_CACHE_HOME") ?? (home as NSString).appendingPathComponent(".cache")
        let hfHome = expand(value("HF_HOME") ?? (xdg as NSString).appendingPathComponent("huggingface"), home: home)
        let cache = expand(value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE") ?? (hfHome as NSString).appendingPathComponent("hub"), home: home)
        var token = value("HF_TOKEN") ?? value("HUGGING_FACE_HUB_TOKEN")
        if token == nil {
            let path = expand(value("HF_TOKEN_PATH") ?? (hfHome as NSString).appendingPathComponent("token"), home: home)
            token = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if token?.isEmpty == true { token = nil }
        }
        let offline = ["1", "ON", "YES", "TRUE"].contains((value("HF_HUB_OFFLINE") ?? "").uppercased())
        var endpoint = value("HF_ENDPOINT") ?? "https://huggingface.co"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        var e = HubEnvironment(endpoint: endpoint, token: token, offline: offline, cache: URL(fileURLWithPath: cache))
        do { e.proxy = try HubProxy.from(env, endpoint: endpoint) } catch { e.proxyProblem = ElectraError(describing: error).message }
        return e
    }

    static func expand(_ path: String, home: String) -> String {
        path.hasPrefix("~/") ? (home as NSString).appendingPathComponent(String(path.dropFirst(2))) : path
    }
}
