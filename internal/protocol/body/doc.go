// Package body holds the JSON bodies of RocketMQ remoting commands, encoded
// byte-for-byte the way Java's fastjson 1.2.83 writes them and decoded
// leniently from whatever Java, Go or C++ peers send.
//
// Encoding rules, taken from fastjson's defaults:
//
//   - bean properties in alphabetical order, compact, no whitespace;
//   - a Java field that is null is omitted: here an empty string, and a nil
//     map or slice where Java leaves the field null by default; fields Java
//     initialises (most collections) are always written, as {} or [];
//   - Java hash maps have no stable order, so Go maps are written sorted
//     (strings lexicographically, integers numerically, MessageQueue by
//     topic, broker, queue id). Slices, including ones standing for Java
//     sets, keep the caller's order;
//   - integer map keys are bare ({0:"addr"}) and MessageQueue keys are
//     objects, except in the standard style of TopicRouteData.
//
// Decoding accepts both fastjson and standard JSON forms, numbers and
// booleans in either raw or string form, ignores unknown properties and
// reports malformed input as an error wrapping ErrInvalid; it never panics.
package body
