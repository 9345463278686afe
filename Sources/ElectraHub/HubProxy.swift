import Electra
import Foundation

/// The proxy the Hub's requests go through, read from the variables Python's requests (and so
/// huggingface_hub) reads: HTTPS_PROXY for an https endpoint, HTTP_PROXY for http, ALL_PROXY
/// for either (upper or lower case), unless NO_PROXY names the endpoint's host. `http://` and
/// `socks5://` proxies; `user:password@` becomes Basic proxy authorization.
public struct HubProxy: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case http, socks5 }
    public var kind: Kind
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?

    public init(kind: Kind, host: String, port: Int, username: String? = nil, password: String? = nil) {
        self.kind = kind
        self.host = host
        self.port = port
        self.username = username
        self.password = password
    }

    /// The proxy for `endpoint` from `env`: nil for none; an error names the variable.
    static func from(_ env: [String: String], endpoint: String) throws -> HubProxy? {
        func value(_ key: String) -> (String, String)? {
            for k in [key, key.lowercased()] { if let v = env[k], !v.isEmpty { return (k, v) } }
            return nil
        }
        guard let url = URLComponents(string: endpoint), let host = url.host?.lowercased() else { return nil }
        if let (_, bypass) = value("NO_PROXY"), bypasses(host, bypass) { return nil }
        let scheme = url.scheme?.lowercased() == "http" ? "HTTP_PROXY" : "HTTPS_PROXY"
        guard let (name, raw) = value(scheme) ?? value("ALL_PROXY") else { return nil }
        return try parse(raw, variable: name)
    }

    /// NO_PROXY: "*", or comma-separated hosts or domains (".example.com" and "example.com"
    /// both cover a.example.com), a ":port" ignored.
    static func bypasses(_ host: String, _ list: String) -> Bool {
        for entry in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !entry.isEmpty {
            if entry == "*" { return true }
            var domain = entry.hasPrefix("[") ? entry : String(entry.split(separator: ":", maxSplits: 1)[0])
            while domain.hasPrefix(".") { domain.removeFirst() }
            if host == domain || host.hasSuffix("." + domain) { return true }
        }
        return false
    }

    static func parse(_ raw: String, variable: String) throws -> HubProxy {
        let text = raw.contains("://") ? raw : "http://" + raw
        guard let c = URLComponents(string: text), let host = c.host, !host.isEmpty else {
            throw ElectraError("\(variable)=\(raw) is not a proxy URL (http://[user:password@]host:port)")
        }
        let kind: Kind
        switch c.scheme?.lowercased() {
        case "http": kind = .http
        case "socks5", "socks5h": kind = .socks5
        default:
            throw ElectraError("\(variable)=\(raw): only http:// and socks5:// proxies are supported")
        }
        if kind == .socks5 && c.user != nil {
            throw ElectraError("\(variable)=\(raw): a SOCKS proxy with a user name is not supported")
        }
        return HubProxy(kind: kind, host: host, port: c.port ?? (kind == .http ? 80 : 1080),
                        username: c.user?.removingPercentEncoding, password: c.password?.removingPercentEncoding)
    }
}
