// Charts, drawn by Apache ECharts (served from npm as /vendor/echarts.min.js):
// metric curves, a tune's best-so-far curve and its parallel coordinates.
// Tooltips are built as DOM nodes with text, so names from the store are
// never parsed as markup.
import {el, fmt} from "./dom.js";

// Shared by charts and the tables beside them (a run's swatch matches its line).
export const palette = ["#2f6fdf", "#e8590c", "#2b9348", "#c2255c", "#7048e8", "#0c8599",
  "#e67700", "#5c940d", "#a61e4d", "#364fc7", "#868e96", "#d6336c"];

const live = new Set();
window.addEventListener("resize", () => live.forEach((c) => c.resize()));

export const haveECharts = () => typeof window.echarts === "object";

// A chart in a new box under parent; null when ECharts is missing.
export function makeChart(parent, title, cls = "chart") {
  const div = el("div", {class: cls, "data-chart": title});
  parent.append(el("figure", {class: "chart-box"}, el("figcaption", {}, title), div));
  if (!haveECharts()) {
    div.append(el("p", {class: "error"}, "Charts need Apache ECharts: run scripts/install-deps.sh."));
    return null;
  }
  const chart = window.echarts.init(div, null, {renderer: "canvas"});
  live.add(chart);
  return chart;
}

// Disposes every chart (on leaving a page).
export function disposeCharts() {
  for (const c of live) c.dispose();
  live.clear();
}

function tip(header, rows) {
  return el("div", {class: "tip"}, el("div", {class: "tip-head"}, header),
    rows.map(([color, name, value]) => {
      const sw = el("span", {class: "swatch"});
      sw.style.background = color;
      return el("div", {}, sw, el("span", {class: "tip-name"}, name), " ", el("b", {}, value));
    }));
}

const axisTip = (xName) => ({
  trigger: "axis",
  confine: true,
  formatter: (params) => {
    const ps = Array.isArray(params) ? params : [params];
    const x = ps.length ? ps[0].axisValueLabel ?? ps[0].value[0] : "";
    return tip(`${xName} ${x}`, ps.map((p) => [p.color, p.seriesName, fmt(p.value[1])]));
  },
});

const zoom = [{type: "inside", filterMode: "none"}];
const toolbox = {right: 8, feature: {dataZoom: {yAxisIndex: "none"}, restore: {}}};

// series: [{name, points: [[x, y], ...], color?}]. x: "step" or "time".
export function lineOption(series, x = "step") {
  return {
    animation: false,
    color: palette,
    grid: {left: 56, right: 24, top: 36, bottom: 40},
    legend: {type: "scroll", top: 0, left: 0, right: 80},
    tooltip: axisTip(x),
    toolbox,
    dataZoom: zoom,
    xAxis: {type: x === "time" ? "time" : "value", name: x, nameLocation: "middle", nameGap: 26,
      scale: true, minInterval: x === "step" ? 1 : undefined},
    yAxis: {type: "value", scale: true},
    series: series.map((s) => ({
      name: s.name, type: "line", data: s.points, showSymbol: s.points.length < 40,
      symbolSize: 5, lineStyle: {width: 1.5}, itemStyle: s.color ? {color: s.color} : undefined,
      connectNulls: false, emphasis: {focus: "series"},
    })),
  };
}

// A tune's history: each trial's value (completed, pruned) and the best so
// far among completed trials, by trial number.
export function bestSoFarOption(metric, trials, best) {
  const scatter = (name, color, pick) => ({
    name, type: "scatter", symbolSize: 8, itemStyle: {color},
    data: trials.filter(pick).map((t) => [t.trial, t.value, t.id]),
  });
  return {
    animation: false,
    grid: {left: 56, right: 24, top: 52, bottom: 40},
    legend: {top: 0, left: 0},
    tooltip: {trigger: "item", confine: true, formatter: (p) =>
      tip(`trial ${p.value[0]}`, [[p.color, p.seriesName, `${metric} ${fmt(p.value[1])}`],
        ...(p.value[2] ? [["transparent", "run", p.value[2]]] : [])])},
    toolbox,
    dataZoom: zoom,
    xAxis: {type: "value", name: "trial", nameLocation: "middle", nameGap: 26, minInterval: 1, scale: true},
    yAxis: {type: "value", name: metric, scale: true},
    series: [
      {name: "best so far", type: "line", step: "end", symbol: "none", lineStyle: {width: 2},
        itemStyle: {color: palette[0]}, data: best.map((b) => [b.trial, b.best, b.best_run])},
      scatter("completed", palette[2], (t) => t.status === "completed" && t.value !== null),
      scatter("pruned", palette[10], (t) => t.pruned && t.value !== null),
    ],
  };
}

// Parallel coordinates: an axis per flag (numbers, on a log scale when they
// span 100x or more, or categories) and one for the objective, a line per
// trial coloured by its value; pruned trials are grey and dashed.
export function parallelOption(dims, metric, goal, trials) {
  const drawn = trials.filter((t) => typeof t.value === "number");
  const key = (v) => typeof v === "string" ? v : JSON.stringify(v);
  const axes = dims.map((d, i) => {
    if (d.type === "number") {
      const log = d.min > 0 && d.max / d.min >= 100;
      return {dim: i, name: d.name, type: log ? "log" : "value", scale: true};
    }
    const values = new Set(d.values || []);
    for (const t of drawn) if (t.flags && d.name in t.flags) values.add(key(t.flags[d.name]));
    return {dim: i, name: d.name, type: "category", data: [...values].sort()};
  });
  axes.push({dim: dims.length, name: `${metric} (${goal})`, type: "value", scale: true,
    nameTextStyle: {fontWeight: "bold"}});
  const row = (t) => [...dims.map((d) => {
    const v = t.flags ? t.flags[d.name] : undefined;
    return v === undefined ? null : d.type === "number" ? v : key(v);
  }), t.value];
  const values = drawn.map((t) => t.value);
  const lo = Math.min(...values), hi = Math.max(...values);
  return {
    animation: false,
    parallel: {left: 48, right: 150, top: 48, bottom: 32},
    parallelAxis: axes,
    legend: {top: 0, left: 0},
    tooltip: {trigger: "item", confine: true, formatter: (p) =>
      tip(`trial ${p.data.trial} (${p.data.status})`,
        axes.map((a) => [p.color, a.name, fmt(p.value[a.dim])]))},
    visualMap: {type: "continuous", min: lo, max: hi === lo ? lo + 1 : hi, dimension: dims.length,
      seriesIndex: 0, inRange: {color: ["#d0e2ff", "#2f6fdf", "#0b2a6f"]}, right: 0, top: "middle",
      calculable: true, precision: 4, itemHeight: 120},
    series: [
      {name: "completed", type: "parallel", lineStyle: {width: 2, opacity: 0.8},
        emphasis: {lineStyle: {width: 4}},
        data: drawn.filter((t) => !t.pruned).map((t) => ({value: row(t), trial: t.trial, status: t.status}))},
      {name: "pruned", type: "parallel", lineStyle: {width: 1, type: "dashed", color: "#adb5bd", opacity: 0.9},
        data: drawn.filter((t) => t.pruned).map((t) => ({value: row(t), trial: t.trial, status: t.status}))},
    ],
  };
}
