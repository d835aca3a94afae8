//! Geo commands: GEOADD, GEODIST, GEOHASH, GEOPOS, GEORADIUS, GEORADIUSBYMEMBER, their
//! `_RO` forms, GEOSEARCH and GEOSEARCHSTORE.
//!
//! A geo set is a sorted set whose scores are Redis's 52-bit geohashes: longitude and
//! latitude (latitude limited to ±85.05112878, the Web Mercator range) each scaled to 26
//! bits and interleaved, latitude in the even bits. GEOADD is ZADD with those scores, as in
//! Redis (same reply, same `zadd` event, logged as the ZADD it becomes), so a geo set
//! written by redis-server reads the same here.
//!
//! Searches follow Redis's `geohash_helper.c` step by step, since which members a search
//! finds near the edge of its area depends on it: the bounding box of the shape, a geohash
//! precision estimated from the radius, the centre cell and its eight neighbours (some
//! dropped when they cannot hold a match), each scanned as a score range, then the exact
//! test — the haversine distance on Redis's Earth radius for BYRADIUS, the latitude and
//! longitude distances for BYBOX.
//!
//! Replies print as Redis's: distances with `%.4f`, coordinates as `long double` with
//! `%.17Lf` trimmed of zeros (a bulk string in RESP2, a double in RESP3), hashes as
//! integers.

use bytes::Bytes;

use super::executor::Ctx;
use super::long_double::LongDouble;
use super::pqsort::pqsort;
use super::reply::{parse_f64, Out};
use super::zset::ZAddFlags;
use super::{parse_i64, Args, CmdError, Command, ZSetCmd};
use crate::db::types::zset::ScoreRange;
use crate::db::types::ZSet;
use crate::db::{notify, Value};

const LONG_MIN: f64 = -180.0;
const LONG_MAX: f64 = 180.0;
const LAT_MIN: f64 = -85.05112878;
const LAT_MAX: f64 = 85.05112878;
/// Bits per coordinate of a stored geohash (52 bits in all).
const STEP_MAX: u8 = 26;

const D_R: f64 = std::f64::consts::PI / 180.0;
/// Redis's `EARTH_RADIUS_IN_METERS`.
const EARTH_RADIUS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;

fn deg_rad(a: f64) -> f64 {
    a * D_R
}

fn rad_deg(a: f64) -> f64 {
    a / D_R
}

/// A geohash: `step` bits of each coordinate, interleaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Hash {
    bits: u64,
    step: u8,
}

impl Hash {
    fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// `geohashAlign52Bits`: the hash as a 52-bit score prefix.
    fn align52(&self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

#[derive(Debug, Clone, Copy)]
struct Range {
    min: f64,
    max: f64,
}

const LONG_RANGE: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// A decoded cell.
#[derive(Debug, Clone, Copy)]
struct Area {
    lon: Range,
    lat: Range,
}

/// Spreads the low 32 bits of `x` to the even bits and those of `y` to the odd bits.
fn interleave64(xlo: u32, ylo: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = u64::from(v);
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    }
    spread(xlo) | (spread(ylo) << 1)
}

/// The inverse of [`interleave64`]: even bits in the low half, odd bits in the high half.
fn deinterleave64(v: u64) -> u64 {
    fn squash(mut v: u64) -> u64 {
        v &= 0x5555_5555_5555_5555;
        v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
        v = (v | (v >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v >> 4)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v >> 8)) & 0x0000_FFFF_0000_FFFF;
        (v | (v >> 16)) & 0x0000_0000_FFFF_FFFF
    }
    squash(v) | (squash(v >> 1) << 32)
}

/// `geohashEncode`: `None` outside the ranges (or outside the Mercator limits).
fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<Hash> {
    if step == 0 || step > 32 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min) * scale;
    let lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min) * scale;
    // C converts the doubles to `uint32_t` by truncation; both are in 0..=2^step.
    Some(Hash {
        bits: interleave64(lat_off as u32, lon_off as u32),
        step,
    })
}

/// `geohashDecode`.
fn decode(lon_r: Range, lat_r: Range, hash: Hash) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave64(hash.bits);
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    let ilat = sep as u32;
    let ilon = (sep >> 32) as u32;
    let div = (1u64 << hash.step) as f64;
    Some(Area {
        lat: Range {
            min: lat_r.min + (f64::from(ilat) / div) * lat_scale,
            max: lat_r.min + ((f64::from(ilat) + 1.0) / div) * lat_scale,
        },
        lon: Range {
            min: lon_r.min + (f64::from(ilon) / div) * lon_scale,
            max: lon_r.min + ((f64::from(ilon) + 1.0) / div) * lon_scale,
        },
    })
}

/// C's `(uint64_t)d` as gcc compiles it on x86-64 (`cvttsd2si`, with the 2^63 adjustment),
/// for scores that are not geohashes: Redis decodes whatever score a member has.
fn score_to_bits(d: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    const INDEFINITE: u64 = 0x8000_0000_0000_0000;
    let cvt = |x: f64| -> u64 {
        if x.is_nan() || !(-TWO63..TWO63).contains(&x) {
            INDEFINITE
        } else {
            (x as i64) as u64
        }
    };
    if d >= TWO63 {
        cvt(d - TWO63) ^ INDEFINITE
    } else {
        cvt(d)
    }
}

/// `decodeGeohash`: a stored score back to longitude and latitude (the cell's centre,
/// clamped to the valid ranges).
fn decode_score(score: f64) -> Option<(f64, f64)> {
    let hash = Hash {
        bits: score_to_bits(score),
        step: STEP_MAX,
    };
    let area = decode(LONG_RANGE, LAT_RANGE, hash)?;
    let lon = ((area.lon.min + area.lon.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.lat.min + area.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    Some((lon, lat))
}

/// The score GEOADD stores for a point.
fn encode_score(lon: f64, lat: f64) -> f64 {
    let hash = encode(LONG_RANGE, LAT_RANGE, lon, lat, STEP_MAX).unwrap_or_default();
    hash.align52() as f64
}

fn move_x(hash: &mut Hash, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let mut x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    hash.bits = x | y;
}

fn move_y(hash: &mut Hash, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> shift;
    hash.bits = x | y;
}

/// The cell and its neighbours, in Redis's order: self, N, S, E, W, NE, NW, SE, SW.
fn neighbours(hash: Hash) -> [Hash; 9] {
    let moved = |dx: i8, dy: i8| {
        let mut h = hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    [
        hash,
        moved(0, 1),
        moved(0, -1),
        moved(1, 0),
        moved(-1, 0),
        moved(1, 1),
        moved(-1, 1),
        moved(1, -1),
        moved(-1, -1),
    ]
}

const N: usize = 1;
const S: usize = 2;
const E: usize = 3;
const W: usize = 4;
const NE: usize = 5;
const NW: usize = 6;
const SE: usize = 7;
const SW: usize = 8;

/// `geohashGetDistance`: the haversine distance in meters.
fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lat1r = deg_rad(lat1);
    let lon1r = deg_rad(lon1);
    let lat2r = deg_rad(lat2);
    let lon2r = deg_rad(lon2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let v = ((lon2r - lon1r) / 2.0).sin();
    2.0 * EARTH_RADIUS * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

/// What a search covers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Radius(f64),
    Box { width: f64, height: f64 },
}

#[derive(Debug, Clone, Copy)]
struct Search {
    lon: f64,
    lat: f64,
    shape: Shape,
    /// Meters per unit of the shape's sizes.
    conversion: f64,
}

impl Search {
    /// `geoWithinShape`: the distance from the centre if `(lon, lat)` is inside.
    fn within(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.shape {
            Shape::Radius(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= r * self.conversion).then_some(d)
            }
            Shape::Box { width, height } => {
                let (w, h) = (width * self.conversion, height * self.conversion);
                let lon_d = distance(lon, lat, self.lon, lat);
                let lat_d = distance(lon, lat, lon, self.lat);
                if lon_d > w / 2.0 || lat_d > h / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }

    /// `geohashBoundingBox`: min lon, min lat, max lon, max lat.
    fn bounds(&self) -> [f64; 4] {
        let (height, width) = match self.shape {
            Shape::Radius(r) => (r * self.conversion, r * self.conversion),
            Shape::Box { width, height } => (
                self.conversion * (height / 2.0),
                self.conversion * (width / 2.0),
            ),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS);
        let top = rad_deg(width / EARTH_RADIUS / deg_rad(self.lat + lat_delta).cos());
        let bottom = rad_deg(width / EARTH_RADIUS / deg_rad(self.lat - lat_delta).cos());
        let delta = if self.lat < 0.0 { bottom } else { top };
        [
            self.lon - delta,
            self.lat - lat_delta,
            self.lon + delta,
            self.lat + lat_delta,
        ]
    }

    /// `geohashCalculateAreasByShapeWGS84`: the cells to scan (zero ones are skipped).
    fn areas(&self) -> [Hash; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let radius = match self.shape {
            Shape::Radius(r) => r,
            Shape::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.conversion;
        let mut steps = estimate_steps(radius, self.lat);
        let cell = |steps| {
            let hash = encode(LONG_RANGE, LAT_RANGE, self.lon, self.lat, steps).unwrap_or_default();
            (hash, neighbours(hash))
        };
        let (mut hash, mut n) = cell(steps);
        let area_of = |h: Hash| decode(LONG_RANGE, LAT_RANGE, h);
        let decrease = {
            let north = area_of(n[N]);
            let south = area_of(n[S]);
            let east = area_of(n[E]);
            let west = area_of(n[W]);
            north.is_some_and(|a| a.lat.max < max_lat)
                || south.is_some_and(|a| a.lat.min > min_lat)
                || east.is_some_and(|a| a.lon.max < max_lon)
                || west.is_some_and(|a| a.lon.min > min_lon)
        };
        if steps > 1 && decrease {
            steps -= 1;
            (hash, n) = cell(steps);
        }
        if steps >= 2 {
            if let Some(area) = area_of(hash) {
                let mut zero = |ids: [usize; 3]| ids.iter().for_each(|&i| n[i] = Hash::default());
                if area.lat.min < min_lat {
                    zero([S, SW, SE]);
                }
                if area.lat.max > max_lat {
                    zero([N, NE, NW]);
                }
                if area.lon.min < min_lon {
                    zero([W, SW, NW]);
                }
                if area.lon.max > max_lon {
                    zero([E, SE, NE]);
                }
            }
        }
        n
    }
}

/// `geohashEstimateStepsByRadius`.
fn estimate_steps(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// A member a search found.
struct Point {
    member: Vec<u8>,
    score: f64,
    lon: f64,
    lat: f64,
    dist: f64,
}

/// `membersOfAllNeighbors`: the members inside the search, in scan order; `limit` (COUNT
/// with ANY) stops the scan once that many are found.
fn search_points(z: &ZSet, search: &Search, limit: usize) -> Vec<Point> {
    let cells = search.areas();
    let mut found = Vec::new();
    let mut last = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        // Huge radii can give the same cell twice: Redis skips a repeat of the previous one
        // (never comparing with the centre cell).
        if last != 0 && *cell == cells[last] {
            continue;
        }
        if limit != 0 && found.len() >= limit {
            break;
        }
        let min = cell.align52() as f64;
        let max = Hash {
            bits: cell.bits + 1,
            step: cell.step,
        }
        .align52() as f64;
        let range = ScoreRange {
            min,
            max,
            min_ex: false,
            max_ex: true,
        };
        if let Some(start) = z.first_in_score_range(&range) {
            for (m, s) in z.iter(start, false) {
                if s >= max {
                    break;
                }
                if let Some((lon, lat)) = decode_score(s) {
                    if let Some(dist) = search.within(lon, lat) {
                        found.push(Point {
                            member: m.to_vec(),
                            score: s,
                            lon,
                            lat,
                            dist,
                        });
                    }
                }
                if limit != 0 && found.len() >= limit {
                    break;
                }
            }
        }
        last = i;
    }
    found
}

/// Writes a coordinate as `addReplyHumanLongDouble`.
fn coord(out: &mut Out, x: f64) {
    let text = LongDouble::from_f64(x).to_human_string();
    if out.resp3() {
        out.buf.extend_from_slice(b",");
        out.buf.extend_from_slice(text.as_bytes());
        out.buf.extend_from_slice(b"\r\n");
    } else {
        out.bulk(text.as_bytes());
    }
}

/// `addReplyDoubleDistance`: `%.4f`.
fn fmt_distance(d: f64) -> String {
    format!("{d:.4}")
}

/// `extractUnitOrReply`: meters per unit.
fn unit(s: &[u8]) -> Result<f64, CmdError> {
    match s.to_ascii_lowercase().as_slice() {
        b"m" => Ok(1.0),
        b"km" => Ok(1000.0),
        b"ft" => Ok(0.3048),
        b"mi" => Ok(1609.34),
        _ => Err(CmdError::err(
            "unsupported unit provided. please use M, KM, FT, MI",
        )),
    }
}

fn float(s: &[u8], msg: &str) -> Result<f64, CmdError> {
    parse_f64(s).ok_or_else(|| CmdError::err(msg))
}

/// `extractLongLatOrReply`.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let lon = float(lon, "value is not a valid float")?;
    let lat = float(lat, "value is not a valid float")?;
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return Err(CmdError::err(format!(
            "invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok((lon, lat))
}

/// `extractDistanceOrReply`: the radius (in its unit) and meters per unit.
fn radius_arg(r: &[u8], u: &[u8]) -> Result<(f64, f64), CmdError> {
    let r = float(r, "need numeric radius")?;
    if r < 0.0 {
        return Err(CmdError::err("radius cannot be negative"));
    }
    Ok((r, unit(u)?))
}

/// `extractBoxOrReply`: width, height and meters per unit.
fn box_arg(w: &[u8], h: &[u8], u: &[u8]) -> Result<(f64, f64, f64), CmdError> {
    let w = float(w, "need numeric width")?;
    let h = float(h, "need numeric height")?;
    if h < 0.0 || w < 0.0 {
        return Err(CmdError::err("height or width cannot be negative"));
    }
    Ok((w, h, unit(u)?))
}

/// Which of the search commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKind {
    /// GEORADIUS (`ro`: GEORADIUS_RO).
    Radius {
        /// The `_RO` form: no STORE.
        ro: bool,
    },
    /// GEORADIUSBYMEMBER (`ro`: GEORADIUSBYMEMBER_RO).
    ByMember {
        /// The `_RO` form: no STORE.
        ro: bool,
    },
    /// GEOSEARCH.
    Search,
    /// GEOSEARCHSTORE.
    SearchStore,
}

/// A geo command, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum GeoCmd {
    /// `GEOADD key [NX | XX] [CH] longitude latitude member [...]` — ZADD of the points'
    /// geohashes.
    Add {
        /// The key.
        key: Bytes,
        /// NX, XX, CH.
        flags: ZAddFlags,
        /// The scores and members.
        pairs: Vec<(f64, Bytes)>,
        /// The options as sent, for the ZADD it is logged as.
        options: Vec<Bytes>,
    },
    /// `GEODIST key member1 member2 [M | KM | FT | MI]`.
    Dist {
        /// The key.
        key: Bytes,
        /// The two members.
        members: [Bytes; 2],
        /// Meters per unit.
        to_meters: f64,
    },
    /// `GEOHASH key [member ...]`.
    Hash {
        /// The key.
        key: Bytes,
        /// The members.
        members: Vec<Bytes>,
    },
    /// `GEOPOS key [member ...]`.
    Pos {
        /// The key.
        key: Bytes,
        /// The members.
        members: Vec<Bytes>,
    },
    /// GEORADIUS, GEORADIUSBYMEMBER, their `_RO` forms, GEOSEARCH, GEOSEARCHSTORE: the
    /// arguments are read when it runs, since (as in Redis) a missing or mistyped key and
    /// the center member's position decide which errors come first.
    Search {
        /// Which command.
        kind: SearchKind,
        /// The name as sent (quoted with its case by some errors).
        sent_name: Bytes,
        /// The arguments after the name.
        args: Vec<Bytes>,
    },
}

/// Parses any geo command (the spec table's parser for each of them).
pub(crate) fn parse(args: &mut Args) -> Result<Command, CmdError> {
    let cmd = match args.name() {
        "geoadd" => parse_add(args)?,
        "geodist" => {
            let key = args.required()?;
            let members = [args.required()?, args.required()?];
            let to_meters = match args.remaining() {
                0 => 1.0,
                1 => unit(&args.required()?)?,
                _ => return Err(CmdError::Syntax),
            };
            GeoCmd::Dist {
                key,
                members,
                to_meters,
            }
        }
        "geohash" => GeoCmd::Hash {
            key: args.required()?,
            members: args.rest(),
        },
        "geopos" => GeoCmd::Pos {
            key: args.required()?,
            members: args.rest(),
        },
        name => {
            let kind = match name {
                "georadius" => SearchKind::Radius { ro: false },
                "georadius_ro" => SearchKind::Radius { ro: true },
                "georadiusbymember" => SearchKind::ByMember { ro: false },
                "georadiusbymember_ro" => SearchKind::ByMember { ro: true },
                "geosearch" => SearchKind::Search,
                "geosearchstore" => SearchKind::SearchStore,
                other => unreachable!("not a geo command: {other}"),
            };
            GeoCmd::Search {
                kind,
                sent_name: args.sent_name().clone(),
                args: args.rest(),
            }
        }
    };
    Ok(Command::Geo(cmd))
}

fn parse_add(args: &mut Args) -> Result<GeoCmd, CmdError> {
    let key = args.required()?;
    let rest = args.rest();
    let mut flags = ZAddFlags::default();
    let mut at = 0;
    while at < rest.len() {
        match rest[at].to_ascii_lowercase().as_slice() {
            b"nx" => flags.nx = true,
            b"xx" => flags.xx = true,
            b"ch" => flags.ch = true,
            _ => break,
        }
        at += 1;
    }
    let points = &rest[at..];
    // No points at all is the syntax error of the ZADD it would become.
    if points.len() % 3 != 0 || (flags.xx && flags.nx) || points.is_empty() {
        return Err(CmdError::Syntax);
    }
    let mut pairs = Vec::with_capacity(points.len() / 3);
    for p in points.chunks_exact(3) {
        let (lon, lat) = lon_lat(&p[0], &p[1])?;
        pairs.push((encode_score(lon, lat), p[2].clone()));
    }
    Ok(GeoCmd::Add {
        key,
        flags,
        pairs,
        options: rest[..at].to_vec(),
    })
}

impl GeoCmd {
    /// The command's name, as the spec table has it.
    pub fn name(&self) -> &'static str {
        match self {
            GeoCmd::Add { .. } => "geoadd",
            GeoCmd::Dist { .. } => "geodist",
            GeoCmd::Hash { .. } => "geohash",
            GeoCmd::Pos { .. } => "geopos",
            GeoCmd::Search { kind, .. } => match kind {
                SearchKind::Radius { ro: false } => "georadius",
                SearchKind::Radius { ro: true } => "georadius_ro",
                SearchKind::ByMember { ro: false } => "georadiusbymember",
                SearchKind::ByMember { ro: true } => "georadiusbymember_ro",
                SearchKind::Search => "geosearch",
                SearchKind::SearchStore => "geosearchstore",
            },
        }
    }

    /// Runs the command; it writes its reply itself.
    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<(), CmdError> {
        match self {
            GeoCmd::Add {
                key,
                flags,
                pairs,
                options,
            } => {
                let logging = ctx.logging();
                let writes = ctx.store.writes();
                let zadd_args = logging.then(|| {
                    let mut a = vec![Bytes::from_static(b"zadd"), key.clone()];
                    a.extend(options);
                    for (s, m) in &pairs {
                        a.push(Bytes::from((*s as u64).to_string()));
                        a.push(m.clone());
                    }
                    a
                });
                ZSetCmd::Add {
                    key,
                    flags,
                    pairs,
                    name: "zadd",
                }
                .apply(ctx)?;
                // Redis turns GEOADD into the ZADD it runs: that is what the log replays.
                if let Some(a) = zadd_args {
                    if ctx.store.writes() != writes {
                        ctx.propagate(a);
                    }
                }
                Ok(())
            }
            GeoCmd::Dist {
                key,
                members,
                to_meters,
            } => {
                let now = ctx.now_ms;
                let (db, mut out) = ctx.db_out();
                let z = match db.get(&key, now) {
                    None => {
                        out.null();
                        return Ok(());
                    }
                    Some(Value::ZSet(z)) => z,
                    Some(_) => return Err(CmdError::WrongType),
                };
                let a = z.score(&members[0]).and_then(decode_score);
                let b = z.score(&members[1]).and_then(decode_score);
                match (a, b) {
                    (Some(a), Some(b)) => {
                        let d = distance(a.0, a.1, b.0, b.1) / to_meters;
                        out.bulk(fmt_distance(d).as_bytes());
                    }
                    _ => out.null(),
                }
                Ok(())
            }
            GeoCmd::Hash { key, members } => {
                let now = ctx.now_ms;
                let (db, mut out) = ctx.db_out();
                let z = match db.get(&key, now) {
                    None => None,
                    Some(Value::ZSet(z)) => Some(z),
                    Some(_) => return Err(CmdError::WrongType),
                };
                out.array(members.len());
                for m in &members {
                    match z.and_then(|z| z.score(m)).and_then(decode_score) {
                        None => out.null(),
                        Some((lon, lat)) => out.bulk(&geohash_string(lon, lat)),
                    }
                }
                Ok(())
            }
            GeoCmd::Pos { key, members } => {
                let now = ctx.now_ms;
                let (db, mut out) = ctx.db_out();
                let z = match db.get(&key, now) {
                    None => None,
                    Some(Value::ZSet(z)) => Some(z),
                    Some(_) => return Err(CmdError::WrongType),
                };
                out.array(members.len());
                for m in &members {
                    match z.and_then(|z| z.score(m)).and_then(decode_score) {
                        None => out.null_array(),
                        Some((lon, lat)) => {
                            out.array(2);
                            coord(&mut out, lon);
                            coord(&mut out, lat);
                        }
                    }
                }
                Ok(())
            }
            GeoCmd::Search {
                kind,
                sent_name,
                args,
            } => search(ctx, kind, &sent_name, &args),
        }
    }
}

/// The standard 11-character geohash of a point (re-encoded over ±90° latitude, the last
/// character `0` since only 52 bits are known), as GEOHASH replies.
fn geohash_string(lon: f64, lat: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let hash = encode(
        LONG_RANGE,
        Range {
            min: -90.0,
            max: 90.0,
        },
        lon,
        lat,
        26,
    )
    .unwrap_or_default();
    let mut buf = [b'0'; 11];
    for (i, c) in buf.iter_mut().enumerate().take(10) {
        let idx = (hash.bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[idx as usize];
    }
    buf
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// `georadiusGeneric`.
fn search(
    ctx: &mut Ctx,
    kind: SearchKind,
    sent_name: &[u8],
    args: &[Bytes],
) -> Result<(), CmdError> {
    let now = ctx.now_ms;
    // The source is looked up as a read even by the commands that can store.
    ctx.read_lookups();
    let is_search = matches!(kind, SearchKind::Search | SearchKind::SearchStore);
    let (src, base) = match kind {
        SearchKind::SearchStore => (&args[1], 2),
        SearchKind::Radius { .. } => (&args[0], 5),
        SearchKind::ByMember { .. } => (&args[0], 4),
        SearchKind::Search => (&args[0], 1),
    };
    let no_store = matches!(
        kind,
        SearchKind::Radius { ro: true } | SearchKind::ByMember { ro: true }
    );
    let db = ctx.db();
    let exists = match db.get(src, now) {
        None => false,
        Some(Value::ZSet(_)) => true,
        Some(_) => return Err(CmdError::WrongType),
    };
    let member_pos = |db: &mut crate::db::Db, m: &[u8]| -> Result<(f64, f64), CmdError> {
        let Some(Value::ZSet(z)) = db.peek(src, now) else {
            unreachable!("checked a sorted set")
        };
        z.score(m)
            .and_then(decode_score)
            .ok_or_else(|| CmdError::err("could not decode requested zset member"))
    };

    let mut center: Option<(f64, f64)> = None;
    let mut shape: Option<(Shape, f64)> = None;
    let mut store: Option<Bytes> = None;
    match kind {
        SearchKind::Radius { .. } => {
            center = Some(lon_lat(&args[1], &args[2])?);
            let (r, conv) = radius_arg(&args[3], &args[4])?;
            shape = Some((Shape::Radius(r), conv));
        }
        SearchKind::ByMember { .. } if exists => {
            center = Some(member_pos(db, &args[1])?);
            let (r, conv) = radius_arg(&args[2], &args[3])?;
            shape = Some((Shape::Radius(r), conv));
        }
        SearchKind::ByMember { .. } => {}
        SearchKind::SearchStore => store = Some(args[0].clone()),
        SearchKind::Search => {}
    }

    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut storedist = false;
    let mut sort = Sort::None;
    let mut count: i64 = 0;
    let opts = &args[base.min(args.len())..];
    let mut i = 0;
    while i < opts.len() {
        let arg = opts[i].to_ascii_lowercase();
        let left = opts.len() - i - 1;
        match arg.as_slice() {
            b"withdist" => withdist = true,
            b"withhash" => withhash = true,
            b"withcoord" => withcoord = true,
            b"any" => any = true,
            b"asc" => sort = Sort::Asc,
            b"desc" => sort = Sort::Desc,
            b"count" if left >= 1 => {
                count = parse_i64(&opts[i + 1]).ok_or(CmdError::NotInteger)?;
                if count <= 0 {
                    return Err(CmdError::err("COUNT must be > 0"));
                }
                i += 1;
            }
            b"store" | b"storedist" if left >= 1 && !no_store && !is_search => {
                store = Some(opts[i + 1].clone());
                storedist = arg == b"storedist";
                i += 1;
            }
            b"storedist" if kind == SearchKind::SearchStore => storedist = true,
            b"frommember" if left >= 1 && is_search && !fromloc => {
                if exists {
                    center = Some(member_pos(ctx.db(), &opts[i + 1])?);
                }
                frommember = true;
                i += 1;
            }
            b"fromlonlat" if left >= 2 && is_search && !frommember => {
                center = Some(lon_lat(&opts[i + 1], &opts[i + 2])?);
                fromloc = true;
                i += 2;
            }
            b"byradius" if left >= 2 && is_search && !bybox => {
                let (r, conv) = radius_arg(&opts[i + 1], &opts[i + 2])?;
                shape = Some((Shape::Radius(r), conv));
                byradius = true;
                i += 2;
            }
            b"bybox" if left >= 3 && is_search && !byradius => {
                let (width, height, conv) = box_arg(&opts[i + 1], &opts[i + 2], &opts[i + 3])?;
                shape = Some((Shape::Box { width, height }, conv));
                bybox = true;
                i += 3;
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }

    if store.is_some() && (withdist || withhash || withcoord) {
        let what = if kind == SearchKind::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::err(format!(
            "{what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = String::from_utf8_lossy(sent_name);
    if is_search && !(frommember || fromloc) {
        return Err(CmdError::err(format!(
            "exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if is_search && !(byradius || bybox) {
        return Err(CmdError::err(format!(
            "exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if any && count == 0 {
        return Err(CmdError::err("the ANY argument requires COUNT argument"));
    }

    if !exists {
        if let Some(dst) = store {
            if ctx.db().delete(&dst) {
                ctx.notify(notify::GENERIC, "del", &dst);
            }
            ctx.out().int(0);
        } else {
            ctx.out().array(0);
        }
        return Ok(());
    }
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let (lon, lat) = center.expect("a source key gives a center");
    let (shape, conversion) = shape.expect("a source key gives a shape");
    let search = Search {
        lon,
        lat,
        shape,
        conversion,
    };
    let limit = if any { count as usize } else { 0 };
    let mut points = {
        let Some(Value::ZSet(z)) = ctx.db().peek(src, now) else {
            unreachable!("checked a sorted set")
        };
        search_points(z, &search, limit)
    };
    if points.is_empty() && store.is_none() {
        ctx.out().array(0);
        return Ok(());
    }
    let returned = if count == 0 {
        points.len()
    } else {
        points.len().min(count as usize)
    };
    if sort != Sort::None {
        // `sort_gp_asc` / `sort_gp_desc`.
        let mut cmp = |a: &Point, b: &Point| {
            let o = a
                .dist
                .partial_cmp(&b.dist)
                .unwrap_or(std::cmp::Ordering::Equal);
            if sort == Sort::Desc {
                o.reverse()
            } else {
                o
            }
        };
        if returned == points.len() {
            // glibc's `qsort`: a merge sort, stable.
            points.sort_by(cmp);
        } else {
            pqsort(&mut points, &mut cmp, 0, returned as i64 - 1);
        }
    }
    points.truncate(returned);
    for p in &mut points {
        p.dist /= conversion;
    }

    let Some(dst) = store else {
        let mut out = ctx.out();
        let options = usize::from(withdist) + usize::from(withhash) + usize::from(withcoord);
        out.array(points.len());
        for p in &points {
            if options > 0 {
                out.array(options + 1);
            }
            out.bulk(&p.member);
            if withdist {
                out.bulk(fmt_distance(p.dist).as_bytes());
            }
            if withhash {
                out.int(p.score as i64);
            }
            if withcoord {
                out.array(2);
                coord(&mut out, p.lon);
                coord(&mut out, p.lat);
            }
        }
        return Ok(());
    };

    let limits = ctx.store.type_limits();
    if points.is_empty() {
        if ctx.db().delete(&dst) {
            ctx.notify(notify::GENERIC, "del", &dst);
        }
    } else {
        let z = ZSet::from_pairs(
            points.iter().map(|p| {
                (
                    p.member.as_slice(),
                    if storedist { p.dist } else { p.score },
                )
            }),
            &limits,
        );
        ctx.db().insert(&dst, Value::ZSet(Box::new(z)), None, now);
        let event = if is_search {
            "geosearchstore"
        } else {
            "georadiusstore"
        };
        ctx.notify(notify::ZSET, event, &dst);
    }
    ctx.out().int(points.len() as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for (x, y) in [
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (0x3ff_ffff, 0x155_5555),
            (u32::MAX, 7),
        ] {
            let v = interleave64(x, y);
            assert_eq!(deinterleave64(v), u64::from(x) | (u64::from(y) << 32));
        }
    }

    #[test]
    fn scores_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania on
        // redis-server 7.0: WITHHASH 3479099956230698 and 3479447370796909.
        assert_eq!(encode_score(13.361389, 38.115556), 3479099956230698.0);
        assert_eq!(encode_score(15.087269, 37.502669), 3479447370796909.0);
        let (lon, lat) = decode_score(3479099956230698.0).unwrap();
        assert_eq!(
            LongDouble::from_f64(lon).to_human_string(),
            "13.36138933897018433"
        );
        assert_eq!(
            LongDouble::from_f64(lat).to_human_string(),
            "38.11555639549629859"
        );
        assert_eq!(&geohash_string(lon, lat), b"sqc8b49rny0");
    }

    #[test]
    fn x86_score_conversion() {
        assert_eq!(score_to_bits(-1.0), u64::MAX);
        assert_eq!(score_to_bits(f64::NAN), 0x8000_0000_0000_0000);
        assert_eq!(score_to_bits(f64::INFINITY), 0);
        assert_eq!(score_to_bits(1e19), 10_000_000_000_000_000_000);
        assert_eq!(score_to_bits(3.9), 3);
    }
}
