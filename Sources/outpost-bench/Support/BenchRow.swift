/// One line of the results table (and one element of the JSON results).
struct BenchRow: Encodable, Sendable {
    var scenario: String
    var measurement: String
    /// The figure, in `unit`; `nil` for rows that only carry a note.
    var value: Double?
    var unit: String
    /// The figure relative to the scenario's baseline from the same run.
    var ratio: Double?
    /// The goal from docs/performance.md, when this figure has one.
    var goal: Goal?
    var notes: String

    init(
        _ scenario: String, _ measurement: String, value: Double?, unit: String = "", ratio: Double? = nil,
        goal: Goal? = nil, notes: String = ""
    ) {
        self.scenario = scenario
        self.measurement = measurement
        // A ratio against a zero baseline (or a failed figure) is left out, not printed as nan.
        self.value = value.flatMap { $0.isFinite ? $0 : nil }
        self.unit = unit
        self.ratio = ratio.flatMap { $0.isFinite ? $0 : nil }
        self.goal = goal
        self.notes = notes
    }

    /// Whether the figure meets its goal; `nil` without a goal or a value.
    var goalMet: Bool? {
        guard let goal, let value else { return nil }
        return goal.isMet(by: value)
    }

    enum CodingKeys: String, CodingKey {
        case scenario, measurement, value, unit, ratio, goal, notes
        case goalMet = "goal_met"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(scenario, forKey: .scenario)
        try c.encode(measurement, forKey: .measurement)
        try c.encode(value, forKey: .value)
        try c.encode(unit, forKey: .unit)
        try c.encode(ratio, forKey: .ratio)
        try c.encode(goal?.description, forKey: .goal)
        try c.encode(goalMet, forKey: .goalMet)
        try c.encode(notes, forKey: .notes)
    }
}

/// A target for one figure: at most or at least `limit`.
struct Goal: Sendable, CustomStringConvertible {
    var limit: Double
    var atMost: Bool

    static func atMost(_ limit: Double) -> Goal { Goal(limit: limit, atMost: true) }
    static func atLeast(_ limit: Double) -> Goal { Goal(limit: limit, atMost: false) }

    func isMet(by value: Double) -> Bool { atMost ? value <= limit : value >= limit }

    var description: String { (atMost ? "<= " : ">= ") + formatFigure(limit) }
}

extension BenchRow {
    /// The same row with `label` before its measurement (a series run again under other conditions).
    func labelled(_ label: String) -> BenchRow {
        var row = self
        row.measurement = label + measurement
        return row
    }
}
