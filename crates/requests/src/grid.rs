//! Grids (网格) as geometry: a point (WGS-84 longitude and latitude), a GeoJSON `Polygon` (an outer
//! ring and optional holes) and the point-in-polygon test that finds a report's grid. Coordinates
//! are stored as integer microdegrees, which both databases keep exactly.

use serde::Deserialize;

use crate::RequestError;

/// A longitude and latitude in degrees, checked to lie on the globe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lon: f64,
    pub lat: f64,
}

impl Point {
    pub fn parse(lon: f64, lat: f64) -> Result<Self, RequestError> {
        if lon.is_finite()
            && lat.is_finite()
            && (-180.0..=180.0).contains(&lon)
            && (-90.0..=90.0).contains(&lat)
        {
            Ok(Self { lon, lat })
        } else {
            Err(RequestError::BadCoordinates)
        }
    }

    /// Longitude and latitude in microdegrees.
    pub fn micro(self) -> (i64, i64) {
        (to_micro(self.lon), to_micro(self.lat))
    }

    pub fn from_micro(lon: i64, lat: i64) -> Self {
        Self {
            lon: lon as f64 / 1e6,
            lat: lat as f64 / 1e6,
        }
    }
}

fn to_micro(degrees: f64) -> i64 {
    (degrees * 1e6).round() as i64
}

/// A polygon: the outer ring and its holes, each closed (first position = last).
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    rings: Vec<Vec<Point>>,
}

#[derive(Deserialize)]
struct GeoJson {
    #[serde(rename = "type")]
    kind: String,
    coordinates: Vec<Vec<Vec<f64>>>,
}

/// Most positions accepted in one polygon (a community grid needs far fewer).
const MAX_POSITIONS: usize = 10_000;

impl Polygon {
    /// Parses GeoJSON `{"type":"Polygon","coordinates":[[[lon,lat],…]]}`.
    pub fn from_geojson(text: &str) -> Result<Self, RequestError> {
        let bad = |why: &str| RequestError::BadPolygon(why.to_owned());
        let raw: GeoJson = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        if raw.kind != "Polygon" {
            return Err(bad("the type must be Polygon"));
        }
        if raw.coordinates.is_empty() {
            return Err(bad("no ring"));
        }
        if raw.coordinates.iter().map(Vec::len).sum::<usize>() > MAX_POSITIONS {
            return Err(bad("too many positions"));
        }
        let mut rings = Vec::with_capacity(raw.coordinates.len());
        for ring in raw.coordinates {
            if ring.len() < 4 {
                return Err(bad("a ring needs at least four positions"));
            }
            let points = ring
                .iter()
                .map(|pos| match pos.as_slice() {
                    [lon, lat, ..] => {
                        Point::parse(*lon, *lat).map_err(|_| bad("a position is off the globe"))
                    }
                    _ => Err(bad("a position needs a longitude and a latitude")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            if points.first() != points.last() {
                return Err(bad("a ring must be closed"));
            }
            rings.push(points);
        }
        Ok(Self { rings })
    }

    /// The bounding box in microdegrees: (min lon, min lat, max lon, max lat).
    pub fn bbox_micro(&self) -> (i64, i64, i64, i64) {
        let outer = &self.rings[0];
        let (mut min_lon, mut min_lat, mut max_lon, mut max_lat) =
            (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
        for p in outer {
            let (lon, lat) = p.micro();
            min_lon = min_lon.min(lon);
            min_lat = min_lat.min(lat);
            max_lon = max_lon.max(lon);
            max_lat = max_lat.max(lat);
        }
        (min_lon, min_lat, max_lon, max_lat)
    }

    /// Inside the outer ring and outside every hole (even-odd ray casting; a point exactly on an
    /// edge may fall either way).
    pub fn contains(&self, p: Point) -> bool {
        let mut rings = self.rings.iter();
        rings.next().is_some_and(|outer| in_ring(outer, p)) && rings.all(|hole| !in_ring(hole, p))
    }
}

fn in_ring(ring: &[Point], p: Point) -> bool {
    let mut inside = false;
    for edge in ring.windows(2) {
        let (a, b) = (edge[0], edge[1]);
        if (a.lat > p.lat) != (b.lat > p.lat) {
            let cross = (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon;
            if p.lon < cross {
                inside = !inside;
            }
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use yiwang_kernel::ErrorCode as _;

    /// A square around 唐桥社区 with a square hole (a school) in it.
    const WITH_HOLE: &str = r#"{"type":"Polygon","coordinates":[
        [[117.30,31.88],[117.32,31.88],[117.32,31.90],[117.30,31.90],[117.30,31.88]],
        [[117.305,31.885],[117.31,31.885],[117.31,31.89],[117.305,31.89],[117.305,31.885]]]}"#;

    fn pt(lon: f64, lat: f64) -> Point {
        Point::parse(lon, lat).unwrap()
    }

    #[test]
    fn inside_outside_and_holes() {
        let poly = Polygon::from_geojson(WITH_HOLE).unwrap();
        assert!(poly.contains(pt(117.315, 31.895)));
        assert!(!poly.contains(pt(117.3075, 31.8875)), "in the hole");
        assert!(!poly.contains(pt(117.33, 31.89)));
        assert_eq!(
            poly.bbox_micro(),
            (117_300_000, 31_880_000, 117_320_000, 31_900_000)
        );
        // A concave (L-shaped) grid.
        let l = Polygon::from_geojson(
            r#"{"type":"Polygon","coordinates":[[[0,0],[2,0],[2,1],[1,1],[1,2],[0,2],[0,0]]]}"#,
        )
        .unwrap();
        assert!(l.contains(pt(0.5, 1.5)));
        assert!(!l.contains(pt(1.5, 1.5)));
    }

    #[test]
    fn bad_polygons_are_named() {
        for text in [
            "not json",
            r#"{"type":"Point","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}"#,
            r#"{"type":"Polygon","coordinates":[]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,100],[0,0]]]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1],[1,1],[0,0]]]}"#,
        ] {
            assert_eq!(
                Polygon::from_geojson(text).unwrap_err().code(),
                "grid_bad_polygon",
                "{text}"
            );
        }
        assert_eq!(
            Point::parse(181.0, 0.0).unwrap_err().code(),
            "request_bad_coordinates"
        );
        assert_eq!(
            Point::parse(f64::NAN, 0.0).unwrap_err().code(),
            "request_bad_coordinates"
        );
    }

    proptest! {
        /// Points of a rectangle's interior are inside; points outside its box never are; the
        /// microdegree round trip moves a point by at most half a microdegree.
        #[test]
        fn rectangles(
            x0 in -170.0_f64..170.0, y0 in -80.0_f64..80.0,
            w in 0.001_f64..5.0, h in 0.001_f64..5.0,
            fx in 0.01_f64..0.99, fy in 0.01_f64..0.99,
            dx in 0.0001_f64..5.0,
        ) {
            let (x1, y1) = (x0 + w, y0 + h);
            let text = format!(
                r#"{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}"#
            );
            let poly = Polygon::from_geojson(&text).unwrap();
            prop_assert!(poly.contains(pt(x0 + w * fx, y0 + h * fy)));
            prop_assert!(!poly.contains(pt(x1 + dx, y0 + h * fy)));
            prop_assert!(!poly.contains(pt(x0 + w * fx, y0 - dx)));
            let p = pt(x0, y0);
            let (lon, lat) = p.micro();
            let back = Point::from_micro(lon, lat);
            prop_assert!((back.lon - p.lon).abs() <= 5e-7 && (back.lat - p.lat).abs() <= 5e-7);
        }
    }
}
