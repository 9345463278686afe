import Electra
import Foundation

/// A small line chart written as SVG: one panel per series group, shared x axis (steps).
/// Enough to look at a loss curve and a validation metric without any plotting stack.
public enum SVGPlot {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: String
        /// Drawn dashed without markers (a reference line such as a baseline).
        public var dashed = false
        public init(name: String, points: [(x: Double, y: Double)], color: String) {
            self.name = name
            self.points = points
            self.color = color
        }
    }

    /// Panels stacked vertically; each panel is a list of series sharing a y axis.
    public static func render(title: String, xLabel: String, panels: [(title: String, series: [Series])]) -> String {
        let width = 760.0, panelHeight = 240.0, left = 70.0, right = 20.0, top = 40.0, gap = 50.0
        let height = top + Double(panels.count) * (panelHeight + gap)
        var s = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(width))" height="\#(Int(height))" font-family="sans-serif" font-size="12">"#
        s += #"<rect width="100%" height="100%" fill="white"/><text x="\#(left)" y="22" font-size="15" font-weight="bold">\#(escape(title))</text>"#
        let all = panels.flatMap { $0.series.flatMap(\.points) }
        let xMin = all.map(\.x).min() ?? 0, xMax = max(all.map(\.x).max() ?? 1, xMin + 1)
        for (pi, panel) in panels.enumerated() {
            let y0 = top + Double(pi) * (panelHeight + gap)
            let pts = panel.series.flatMap(\.points).map(\.y).filter(\.isFinite)
            var yMin = pts.min() ?? 0, yMax = pts.max() ?? 1
            if yMax - yMin < 1e-9 { yMin -= 0.5; yMax += 0.5 }
            let pad = (yMax - yMin) * 0.05
            yMin -= pad; yMax += pad
            let px = { (x: Double) in left + (x - xMin) / (xMax - xMin) * (width - left - right) }
            let py = { (y: Double) in y0 + panelHeight - (y - yMin) / (yMax - yMin) * panelHeight }
            s += #"<rect x="\#(left)" y="\#(y0)" width="\#(width - left - right)" height="\#(panelHeight)" fill="none" stroke="gray"/>"#
            s += #"<text x="\#(left + 6)" y="\#(y0 + 16)" font-weight="bold">\#(escape(panel.title))</text>"#
            for k in 0...4 {
                let v = yMin + (yMax - yMin) * Double(k) / 4
                s += #"<line x1="\#(left - 4)" x2="\#(left)" y1="\#(py(v))" y2="\#(py(v))" stroke="gray"/><text x="\#(left - 8)" y="\#(py(v) + 4)" text-anchor="end">\#(format(v))</text>"#
                let xv = xMin + (xMax - xMin) * Double(k) / 4
                s += #"<text x="\#(px(xv))" y="\#(y0 + panelHeight + 16)" text-anchor="middle">\#(format(xv))</text>"#
            }
            for (si, series) in panel.series.enumerated() {
                let finite = series.points.filter { $0.y.isFinite }
                guard !finite.isEmpty else { continue }
                let path = finite.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
                let dash = series.dashed ? #" stroke-dasharray="6,4""# : ""
                s += #"<polyline fill="none" stroke="\#(series.color)" stroke-width="1.5"\#(dash) points="\#(path)"/>"#
                if finite.count < 40 && !series.dashed {
                    for p in finite { s += #"<circle cx="\#(px(p.x))" cy="\#(py(p.y))" r="2.5" fill="\#(series.color)"/>"# }
                }
                s += #"<text x="\#(width - right - 6)" y="\#(y0 + 16 + Double(si) * 15)" text-anchor="end" fill="\#(series.color)">\#(escape(series.name))</text>"#
            }
        }
        s += #"<text x="\#(width / 2)" y="\#(height - 12)" text-anchor="middle">\#(escape(xLabel))</text></svg>"#
        return s + "\n"
    }

    static func format(_ v: Double) -> String {
        abs(v) >= 10 ? String(format: "%.0f", v) : abs(v) >= 1 ? String(format: "%.2f", v) : String(format: "%.3g", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}
