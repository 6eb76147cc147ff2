package import Foundation

/// A `Decoder` over a parsed `JSONValue` that refuses what `JSONDecoder` lets pass:
///
/// - an object key the type does not know: each keyed container checks every key of
///   its object against the type's own `CodingKeys` (`Key(stringValue:)` is `nil` for
///   a key it does not declare), so the rule follows the DTOs with nothing to list
///   twice. Dictionaries (`env`, `mapping`) accept any key, as their coding key does.
/// - a number of the wrong kind or size, with a message that says so;
/// - a value of the wrong JSON type, naming both types.
///
/// Dates are ISO 8601 strings, as `WireJSON` writes them.
struct StrictJSONDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw mismatch(expected: "an object", got: value, at: codingPath)
        }
        var lookup: [String: JSONValue] = [:]
        lookup.reserveCapacity(members.count)
        for member in members {
            guard Key(stringValue: member.key) != nil else {
                let field = WireDecodingError.fieldName(codingPath + [AnyKey(member.key)])
                throw WireDecodingError(.unknownField, field: field, "unknown field \"\(field)\"")
            }
            lookup[member.key] = member.value
        }
        return KeyedDecodingContainer(
            KeyedContainer<Key>(members: lookup, order: members.map(\.key), codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw mismatch(expected: "an array", got: value, at: codingPath)
        }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(value: value, codingPath: codingPath)
    }
}

/// A coding key for error paths and dictionary keys.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ string: String) { stringValue = string }
    init(index: Int) {
        stringValue = "\(index)"
        intValue = index
    }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { self.init(index: intValue) }
}

private func mismatch(expected: String, got value: JSONValue? = nil, at path: [any CodingKey]) -> WireDecodingError {
    let field = WireDecodingError.fieldName(path)
    let got = value.map { ", got \($0.kindName)" } ?? ""
    if field.isEmpty {
        return WireDecodingError(.typeMismatch, field: "", "the request body must be \(expected)\(got)")
    }
    return WireDecodingError(.typeMismatch, field: field, "field \"\(field)\" must be \(expected)\(got)")
}

/// Reads one JSON value as the Swift type asked for.
private func read<T: Decodable>(_ type: T.Type, from value: JSONValue, at path: [any CodingKey]) throws -> T {
    // Messages are built only on failure: this runs for every value of every request.
    var field: String { WireDecodingError.fieldName(path) }
    switch type {
    case is Bool.Type:
        guard case .bool(let flag) = value else { throw mismatch(expected: "a boolean", got: value, at: path) }
        return flag as! T
    case is String.Type:
        guard case .string(let text) = value else { throw mismatch(expected: "a string", got: value, at: path) }
        return text as! T
    case is Double.Type, is Float.Type:
        guard case .number(let text) = value else { throw mismatch(expected: "a number", got: value, at: path) }
        guard let number = Double(text), number.isFinite else {
            throw WireDecodingError(.outOfRange, field: field, "field \"\(field)\" must be a number, got a number out of range")
        }
        return (type is Float.Type ? Float(number) as Any : number as Any) as! T
    case is Date.Type:
        guard case .string(let text) = value else {
            throw mismatch(expected: "an ISO 8601 date string", got: value, at: path)
        }
        guard let date = WireJSON.parseDate(text) else {
            throw WireDecodingError(
                .invalidValue, field: field, "field \"\(field)\" must be an ISO 8601 date such as 2026-01-31T12:00:00Z")
        }
        return date as! T
    default:
        if let integer = type as? any FixedWidthInteger.Type {
            return try readInteger(integer, from: value, at: path) as! T
        }
        return try T(from: StrictJSONDecoder(value: value, codingPath: path))
    }
}

private func readInteger<I: FixedWidthInteger>(_ type: I.Type, from value: JSONValue, at path: [any CodingKey]) throws
    -> I
{
    var field: String { WireDecodingError.fieldName(path) }
    guard case .number(let text) = value else { throw mismatch(expected: "an integer", got: value, at: path) }
    var range: String { "\(I.min) to \(I.max)" }
    guard !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else {
        throw WireDecodingError(
            .outOfRange, field: field, "field \"\(field)\" must be an integer (\(range)), got a number with a fraction or exponent")
    }
    guard let integer = I(text) else {
        throw WireDecodingError(
            .outOfRange, field: field, "field \"\(field)\" must be an integer (\(range)), got a number out of range")
    }
    return integer
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let order: [String]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { order.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func value(_ key: Key, expected: @autoclosure () -> String) throws -> JSONValue {
        guard let value = members[key.stringValue] else {
            let field = WireDecodingError.fieldName(codingPath + [key])
            throw WireDecodingError(.missingField, field: field, "missing field \"\(field)\"")
        }
        if case .null = value {
            let field = WireDecodingError.fieldName(codingPath + [key])
            throw WireDecodingError(.typeMismatch, field: field, "field \"\(field)\" must not be null (expected \(expected()))")
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let value = members[key.stringValue] else { return true }
        if case .null = value { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try read(type, from: try value(key, expected: expectedName(type)), at: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try StrictJSONDecoder(value: try value(key, expected: "an object"), codingPath: codingPath + [key])
            .container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try StrictJSONDecoder(value: try value(key, expected: "an array"), codingPath: codingPath + [key])
            .unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        StrictJSONDecoder(value: members["super"] ?? .null, codingPath: codingPath + [AnyKey("super")])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        StrictJSONDecoder(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next(expected: @autoclosure () -> String) throws -> (JSONValue, [any CodingKey]) {
        let path = codingPath + [AnyKey(index: currentIndex)]
        guard !isAtEnd else {
            let field = WireDecodingError.fieldName(path)
            throw WireDecodingError(.missingField, field: field, "missing element \"\(field)\"")
        }
        let value = elements[currentIndex]
        if case .null = value { throw mismatch(expected: expected(), got: value, at: path) }
        currentIndex += 1
        return (value, path)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, case .null = elements[currentIndex] else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, path) = try next(expected: expectedName(type))
        return try read(type, from: value, at: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let (value, path) = try next(expected: "an object")
        return try StrictJSONDecoder(value: value, codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, path) = try next(expected: "an array")
        return try StrictJSONDecoder(value: value, codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let path = codingPath + [AnyKey(index: currentIndex)]
        let value = isAtEnd ? JSONValue.null : elements[currentIndex]
        currentIndex += 1
        return StrictJSONDecoder(value: value, codingPath: path)
    }
}

private struct SingleValueContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if case .null = value { throw mismatch(expected: expectedName(type), got: value, at: codingPath) }
        // A type decoding itself from this container (an enum's raw value) must not
        // recurse into `T(from:)` again.
        return try read(type, from: value, at: codingPath)
    }
}

/// "a string", "an integer", ... for messages.
private func expectedName(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: "a string"
    case is Bool.Type: "a boolean"
    case is Double.Type, is Float.Type: "a number"
    case is any FixedWidthInteger.Type: "an integer"
    case is Date.Type: "an ISO 8601 date string"
    default:
        "\(type)".hasPrefix("Array") ? "an array" : "\(type)".hasPrefix("Dictionary") ? "an object" : "a value"
    }
}
