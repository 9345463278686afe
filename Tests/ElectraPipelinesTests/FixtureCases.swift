import Foundation
import XCTest
@testable import ElectraPipelines

/// The cases scripts/reference/make_pipeline_fixtures.py recorded from HF `pipeline()`.
struct FixtureCase {
    let name: String
    let task: String
    let model: String
    let inputs: Any
    let kwargs: [String: Any]
    /// HF's value, or nil where HF raised (`error` holds its message).
    let output: Any?
    let error: String?

    static let root = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/pipelines")

    static func all() throws -> [FixtureCase] {
        let data = try Data(contentsOf: root.appendingPathComponent("cases.json"))
        let list = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as! [[String: Any]]
        return list.map {
            FixtureCase(name: $0["name"] as! String, task: $0["task"] as! String, model: $0["model"] as! String,
                        inputs: $0["inputs"]!, kwargs: $0["kwargs"] as? [String: Any] ?? [:], output: $0["output"],
                        error: $0["error"] as? String)
        }
    }

    var folder: URL { Self.root.appendingPathComponent(model) }
    func has(_ key: String) -> Bool { kwargs[key] != nil }
    func int(_ key: String) -> Int? { (kwargs[key] as? NSNumber)?.intValue }
    func bool(_ key: String) -> Bool? { (kwargs[key] as? NSNumber)?.boolValue }
    func string(_ key: String) -> String? { kwargs[key] as? String }
    func strings(_ key: String) -> [String]? { kwargs[key] as? [String] }
}

/// Parses our serialized JSON and compares it with HF's value: same structure, keys, strings
/// and integers; floats within `tolerance`. Returns the first difference, with its path.
func jsonDifference(_ ours: PipelineJSON, _ expected: Any, tolerance: Double = 1e-4) -> String? {
    let parsed = try! JSONSerialization.jsonObject(with: Data(ours.serialized.utf8), options: [.fragmentsAllowed])
    return difference(parsed, expected, path: "$", tolerance: tolerance)
}

private func difference(_ a: Any, _ b: Any, path: String, tolerance: Double) -> String? {
    switch (a, b) {
    case (let x as [String: Any], let y as [String: Any]):
        guard Set(x.keys) == Set(y.keys) else { return "\(path): keys \(x.keys.sorted()) vs \(y.keys.sorted())" }
        for k in x.keys.sorted() { if let d = difference(x[k]!, y[k]!, path: "\(path).\(k)", tolerance: tolerance) { return d } }
        return nil
    case (let x as [Any], let y as [Any]):
        guard x.count == y.count else { return "\(path): \(x.count) items vs \(y.count)" }
        for i in x.indices { if let d = difference(x[i], y[i], path: "\(path)[\(i)]", tolerance: tolerance) { return d } }
        return nil
    case (let x as String, let y as String):
        return x == y ? nil : "\(path): \"\(x)\" vs \"\(y)\""
    case (let x as NSNumber, let y as NSNumber):
        return abs(x.doubleValue - y.doubleValue) <= tolerance ? nil : "\(path): \(x) vs \(y)"
    case (is NSNull, is NSNull):
        return nil
    default:
        return "\(path): \(type(of: a)) vs \(type(of: b)) (\(a) vs \(b))"
    }
}
