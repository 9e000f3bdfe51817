// Package emrtd reads national ID card and passport chips that follow ICAO
// Doc 9303 (eMRTD): it parses printed MRZs and checks every check digit,
// derives Basic Access Control keys from the document number, birth date and
// expiry date, runs BAC and secure messaging over a hwbridge.Card, reads
// EF.COM, DG1, DG13 (Vietnamese CCCD fields) and EF.SOD, and performs passive
// authentication: the hashes of what was read are compared with the signed
// LDS security object, and its signature is checked against configured CSCA
// certificates. The BAC cryptography and secure messaging themselves live
// in the subpackage bac, which the card simulator shares.
//
// It does not do PACE or active/chip authentication, does not decide what a
// citizen may do with the data, and never logs personal data: errors name
// the field or data group that is wrong, never its value, and the types
// that hold personal data log through slog without it (LogValue).
package emrtd
