/* Grid entry: a spreadsheet-like sheet on Tabulator. Rows are stores (or salespersons), columns
   product models × measure (or months). Keyboard navigation and copy come from Tabulator's range
   selection; typing to edit, paste of a tab-separated block, fill-down, clear, per-cell
   validation, change tracking and the one-request save are here. The server checks every cell
   again; its per-cell errors are shown on the same cells and nothing typed is lost. */
(function () {
  "use strict";

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function format(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (_m, name) { return values[name]; });
  }

  // --- the same rules as kehu/sales/cells.py ---------------------------------------------------
  var MAX_QUANTITY = 2000000000;
  var MAX_INTEGER_DIGITS = 12;

  function clean(raw) {
    if (raw === null || raw === undefined) return "";
    return String(raw).normalize("NFKC").replace(/[\s,¥$]/g, "");
  }

  function stripZeros(digits) {
    var out = digits.replace(/^0+/, "");
    return out === "" ? "0" : out;
  }

  /* Returns {value: canonical string ("" for blank)} or {error: message key}. */
  function parseQuantity(raw) {
    var text = clean(raw);
    if (text === "") return { value: "" };
    if (!/^-?\d+$/.test(text)) {
      return { error: /^-?(\d+(\.\d*)?|\.\d+)$/.test(text) ? "whole" : "number" };
    }
    var negative = text.charAt(0) === "-";
    var digits = stripZeros(negative ? text.slice(1) : text);
    if (negative && digits !== "0") return { error: "negative" };
    if (digits.length > 10 || Number(digits) > MAX_QUANTITY) return { error: "too_large" };
    return { value: digits };
  }

  function parseAmount(raw) {
    var text = clean(raw);
    if (text === "") return { value: "" };
    var match = /^(-?)(?:(\d+)(?:\.(\d*))?|\.(\d+))$/.exec(text);
    if (!match) return { error: "number" };
    var whole = stripZeros(match[2] || "0");
    var places = (match[3] !== undefined ? match[3] : match[4]) || "";
    var significant = places.replace(/0+$/, "");
    if (match[1] === "-" && (whole !== "0" || significant !== "")) return { error: "negative" };
    if (significant.length > 2) return { error: "places" };
    if (whole.length > MAX_INTEGER_DIGITS) return { error: "too_large" };
    return { value: whole + "." + (significant + "00").slice(0, 2) };
  }

  var PARSERS = { quantity: parseQuantity, amount: parseAmount, target: parseAmount };
  window.kehuCellRules = PARSERS; // the browser tests check these agree with kehu/sales/cells.py

  function init() {
    var config = readJSON("grid-config");
    var holder = document.getElementById("grid");
    if (!config || !holder || typeof Tabulator === "undefined") return;
    var labels = config.labels;
    var saveButton = document.getElementById("grid-save");
    var revertButton = document.getElementById("grid-revert");
    var fillButton = document.getElementById("grid-fill-down");
    var status = document.getElementById("grid-status");
    var unsavedBadge = document.getElementById("grid-unsaved");
    var invalidBadge = document.getElementById("grid-invalid");

    // Editable fields in column order ("<column id>:<measure>") and what each measure is.
    var editable = [];
    var measureOf = {};
    var colOf = {};
    var measures = [];
    config.columns.forEach(function (col) {
      col.fields.forEach(function (measure) {
        var key = col.id + ":" + measure;
        editable.push(key);
        measureOf[key] = measure;
        colOf[key] = col.id;
        if (measures.indexOf(measure) < 0) measures.push(measure);
      });
    });
    var isEditable = {};
    editable.forEach(function (k) { isEditable[k] = true; });

    var original = {}; // "row|field" → canonical stored figure
    var serverErrors = {}; // "row|field" → message from the last save
    var dirty = {}; // "row|field" → true
    var invalid = {}; // "row|field" → message key

    function cellKey(rowId, field) { return rowId + "|" + field; }

    var data = config.rows.map(function (row) {
      var item = { id: row.id, code: row.code, name: row.name, extra: row.extra };
      editable.forEach(function (field) {
        var stored = row.values[field] || "";
        var canonical = PARSERS[measureOf[field]](stored).value || "";
        item[field] = canonical;
        original[cellKey(row.id, field)] = canonical;
      });
      return item;
    });

    function evaluate(rowId, field, raw) {
      var key = cellKey(rowId, field);
      var parsed = PARSERS[measureOf[field]](raw);
      if (parsed.error) { invalid[key] = parsed.error; dirty[key] = true; return; }
      delete invalid[key];
      if (parsed.value === original[key]) delete dirty[key];
      else dirty[key] = true;
    }

    function numberOf(field, raw) {
      var parsed = PARSERS[measureOf[field]](raw);
      return parsed.error || parsed.value === "" ? 0 : Number(parsed.value);
    }

    function rowTotals(rowData) {
      var totals = {};
      measures.forEach(function (m) { totals["_total:" + m] = 0; });
      editable.forEach(function (field) { totals["_total:" + measureOf[field]] += numberOf(field, rowData[field]); });
      return totals;
    }
    data.forEach(function (item) { Object.assign(item, rowTotals(item)); });

    function showNumber(measure, value) {
      var digits = measure === "quantity" ? 0 : 2;
      return Number(value).toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
    }

    function figureCell(cell) {
      var rowId = cell.getRow().getData().id;
      var field = cell.getField();
      var key = cellKey(rowId, field);
      var element = cell.getElement();
      var problem = invalid[key] ? labels.messages[invalid[key]] : serverErrors[key];
      element.classList.toggle("kehu-cell-dirty", !!dirty[key]);
      element.classList.toggle("kehu-cell-invalid", !!problem);
      if (problem) { element.title = problem; element.setAttribute("aria-invalid", "true"); }
      else { element.removeAttribute("title"); element.removeAttribute("aria-invalid"); }
      var value = cell.getValue();
      return document.createTextNode(value === null || value === undefined ? "" : String(value));
    }

    function sumCalc(field) {
      return function (values) {
        var total = 0;
        values.forEach(function (v) { total += numberOf(field, v); });
        return total;
      };
    }

    function totalCalc(values) {
      var total = 0;
      values.forEach(function (v) { total += Number(v) || 0; });
      return total;
    }

    function numberFormatter(measure) {
      return function (cell) { return showNumber(measure, cell.getValue() || 0); };
    }

    function title(main, sub) {
      return function () {
        var box = document.createElement("span");
        box.className = "kehu-grid-title";
        var strong = document.createElement("span");
        strong.textContent = main;
        box.appendChild(strong);
        if (sub) {
          var small = document.createElement("small");
          small.textContent = sub;
          box.appendChild(small);
        }
        return box;
      };
    }

    function figureColumn(field, heading, sub) {
      var measure = measureOf[field];
      return {
        title: heading, field: field, titleFormatter: title(heading, sub), headerSort: false,
        editor: "input", editorParams: { selectContents: true }, hozAlign: "right",
        minWidth: measure === "quantity" ? 72 : 112,
        formatter: figureCell, bottomCalc: sumCalc(field),
        bottomCalcFormatter: numberFormatter(measure === "target" ? "amount" : measure)
      };
    }

    var columns = [
      { title: config.rowHeader.code, field: "code", frozen: true, headerSort: false, width: 112, cssClass: "kehu-grid-rowhead" },
      { title: config.rowHeader.name, field: "name", frozen: true, headerSort: false, minWidth: 140, cssClass: "kehu-grid-rowhead",
        bottomCalc: function () { return labels.total; } },
      { title: config.rowHeader.extra, field: "extra", headerSort: false, width: 90, cssClass: "kehu-grid-rowhead text-secondary" }
    ];
    config.columns.forEach(function (col) {
      if (col.fields.length === 1) {
        columns.push(figureColumn(col.id + ":" + col.fields[0], col.title, col.subtitle));
      } else {
        columns.push({
          title: col.title, titleFormatter: title(col.title, col.subtitle), headerSort: false,
          columns: col.fields.map(function (m) { return figureColumn(col.id + ":" + m, labels[m], ""); })
        });
      }
    });
    measures.forEach(function (m) {
      var shown = m === "target" ? "amount" : m;
      columns.push({
        title: labels.total + (measures.length > 1 ? " · " + labels[m] : ""), field: "_total:" + m,
        headerSort: false, hozAlign: "right", minWidth: 110, cssClass: "kehu-grid-total",
        formatter: numberFormatter(shown), bottomCalc: totalCalc, bottomCalcFormatter: numberFormatter(shown)
      });
    });

    var table = new Tabulator(holder, {
      data: data, index: "id", columns: columns, layout: "fitDataFill", maxHeight: "62vh",
      renderHorizontal: "virtual", selectableRange: 1, selectableRangeColumns: false,
      selectableRangeRows: false, selectableRangeClearCells: false, editTriggerEvent: "dblclick",
      clipboard: "copy", clipboardCopyRowRange: "range", clipboardCopyStyled: false,
      clipboardCopyConfig: { rowHeaders: false, columnHeaders: false, columnGroups: false, columnCalcs: false, formatCells: false },
      columnCalcs: "table", columnHeaderVertAlign: "bottom", placeholder: config.empty || ""
    });

    function refresh(rows, valuesChanged) {
      // Totals only move when figures did; a save only changes colours (dirty, invalid).
      rows.forEach(function (row) {
        if (valuesChanged !== false) row.update(rowTotals(row.getData()));
        row.reformat();
      });
      if (valuesChanged !== false) table.recalc();
      updateBadges();
    }

    function updateBadges() {
      var unsaved = Object.keys(dirty).length;
      var bad = Object.keys(invalid).length + Object.keys(serverErrors).length;
      unsavedBadge.textContent = format(labels.unsaved, { n: unsaved });
      unsavedBadge.hidden = unsaved === 0;
      invalidBadge.textContent = format(labels.invalid, { n: bad });
      invalidBadge.hidden = bad === 0;
      saveButton.disabled = unsaved === 0;
      revertButton.disabled = unsaved === 0;
      holder.dataset.unsaved = String(unsaved);
    }

    function say(text, tone) {
      status.textContent = text;
      status.className = "kehu-grid-status small " + (tone ? "text-" + tone : "text-secondary");
    }

    function setCells(changes) {
      // changes: [{row: RowComponent, values: {field: raw}}]; one redraw for the lot.
      var rows = [];
      table.blockRedraw();
      try {
        changes.forEach(function (change) {
          var id = change.row.getData().id;
          Object.keys(change.values).forEach(function (field) {
            delete serverErrors[cellKey(id, field)];
            evaluate(id, field, change.values[field]);
          });
          change.row.update(change.values);
          rows.push(change.row);
        });
        refresh(rows);
      } finally {
        table.restoreRedraw();
      }
    }

    table.on("cellEdited", function (cell) {
      var field = cell.getField();
      if (!isEditable[field]) return;
      var id = cell.getRow().getData().id;
      delete serverErrors[cellKey(id, field)];
      evaluate(id, field, cell.getValue());
      refresh([cell.getRow()]);
    });

    function activeRange() {
      var ranges = table.getRanges();
      return ranges.length ? ranges[ranges.length - 1] : null;
    }

    function rangeStart(range) {
      var rows = range.getRows(), cols = range.getColumns();
      return rows.length && cols.length ? rows[0].getCell(cols[0].getField()) : null;
    }

    function rangeBox(range) {
      // Rows and editable fields covered by the range, in display order.
      var rangeRows = range.getRows(), rangeCols = range.getColumns();
      if (!rangeRows.length || !rangeCols.length) return null;
      var rows = table.getRows("active");
      var ids = rows.map(function (r) { return r.getData().id; });
      var firstRow = ids.indexOf(rangeRows[0].getData().id);
      if (firstRow < 0) return null;
      return {
        rows: rows.slice(firstRow, firstRow + rangeRows.length),
        allRows: rows, firstRow: firstRow,
        fields: rangeCols.map(function (c) { return c.getField(); }).filter(function (f) { return isEditable[f]; }),
        startField: rangeCols[0].getField()
      };
    }

    function parseClipboard(text) {
      var lines = String(text).replace(/\r\n?/g, "\n").split("\n");
      if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
      return lines.map(function (line) { return line.split("\t"); });
    }

    function paste(text) {
      var range = activeRange();
      if (!range) return;
      var box = rangeBox(range);
      if (!box) return;
      var block = parseClipboard(text);
      var changes = [];
      if (block.length === 1 && block[0].length === 1 && (box.rows.length > 1 || box.fields.length > 1)) {
        // One value into a selected range fills the range, as in a spreadsheet.
        box.rows.forEach(function (row) {
          var values = {};
          box.fields.forEach(function (f) { values[f] = block[0][0]; });
          changes.push({ row: row, values: values });
        });
        setCells(changes);
        return;
      }
      // Paste from the range's top-left cell (or the first figure column right of it).
      var startCol = editable.indexOf(box.startField);
      if (startCol < 0) {
        var allFields = table.getColumns().map(function (c) { return c.getField(); });
        var at = allFields.indexOf(box.startField);
        startCol = editable.findIndex(function (f) { return allFields.indexOf(f) > at; });
        if (startCol < 0) return;
      }
      var clipped = Math.max(0, box.firstRow + block.length - box.allRows.length);
      block.forEach(function (cells, i) {
        var row = box.allRows[box.firstRow + i];
        if (!row) return;
        var values = {};
        cells.forEach(function (raw, j) {
          var field = editable[startCol + j];
          if (field) values[field] = raw.trim();
        });
        changes.push({ row: row, values: values });
      });
      setCells(changes);
      var width = Math.min(block[0].length, editable.length - startCol);
      var note = format(labels.pasted, { rows: changes.length, cols: width });
      if (clipped) note += " " + format(labels.clipped, { n: clipped });
      say(note, clipped ? "warning" : "");
    }

    function fillDown() {
      var range = activeRange();
      if (!range) return;
      var box = rangeBox(range);
      if (!box || !box.fields.length) return;
      var source = box.rows.length > 1 ? box.rows[0] : box.allRows[box.firstRow - 1];
      if (!source) return;
      var targets = box.rows.length > 1 ? box.rows.slice(1) : box.rows;
      var from = source.getData();
      setCells(targets.map(function (row) {
        var values = {};
        box.fields.forEach(function (f) { values[f] = from[f]; });
        return { row: row, values: values };
      }));
    }

    function clearRange() {
      var range = activeRange();
      if (!range) return;
      var box = rangeBox(range);
      if (!box || !box.fields.length) return;
      setCells(box.rows.map(function (row) {
        var values = {};
        box.fields.forEach(function (f) { values[f] = ""; });
        return { row: row, values: values };
      }));
    }

    function editing() {
      var el = document.activeElement;
      return el && el.tagName === "INPUT" && holder.contains(el);
    }

    function moveTo(row, field) {
      var cell = row && row.getCell(field);
      var range = activeRange();
      if (cell && range) {
        range.setBounds(cell, cell);
        cell.getElement().scrollIntoView({ block: "nearest", inline: "nearest" });
      }
    }

    var editingCell = null;
    table.on("cellEditing", function (cell) { editingCell = cell; });

    function neighbour(cell, key, back) {
      // Enter moves down (Shift+Enter up), Tab moves right (Shift+Tab left), as in a spreadsheet.
      var row = cell.getRow();
      var field = cell.getField();
      if (key === "Enter") {
        return { row: (back ? row.getPrevRow() : row.getNextRow()) || row, field: field };
      }
      var i = editable.indexOf(field) + (back ? -1 : 1);
      return { row: row, field: editable[Math.max(0, Math.min(editable.length - 1, i))] };
    }

    holder.addEventListener("keydown", function (e) {
      if (editing()) {
        if ((e.ctrlKey || e.metaKey) && (e.key === "s" || e.key === "S")) {
          e.preventDefault();
          document.activeElement.blur(); // commits the figure being typed, then saves it too
          save();
          return;
        }
        if ((e.key === "Enter" || e.key === "Tab") && editingCell) {
          // Commit and move in one go, before the next key arrives: the editor commits on blur.
          e.preventDefault();
          e.stopPropagation();
          var cell = editingCell;
          var next = neighbour(cell, e.key, e.shiftKey);
          document.activeElement.blur();
          editingCell = null;
          moveTo(next.row, next.field);
          holder.querySelector(".tabulator-tableholder").focus({ preventScroll: true });
        }
        return;
      }
      var range = activeRange();
      var mod = e.ctrlKey || e.metaKey;
      if (mod && (e.key === "d" || e.key === "D")) { e.preventDefault(); fillDown(); return; }
      if (mod && (e.key === "s" || e.key === "S")) { e.preventDefault(); save(); return; }
      if (!range) return;
      if (e.key === "Delete" || e.key === "Backspace") { e.preventDefault(); clearRange(); return; }
      if (e.key === "Tab") {
        var at = rangeStart(range);
        if (at && isEditable[at.getField()]) {
          e.preventDefault();
          var to = neighbour(at, "Tab", e.shiftKey);
          moveTo(to.row, to.field);
        }
        return;
      }
      if (e.key.length === 1 && !mod && !e.altKey) {
        var start = rangeStart(range);
        if (!start || !isEditable[start.getField()]) return;
        e.preventDefault();
        start.edit(true);
        var input = start.getElement().querySelector("input");
        if (input) { input.value = e.key; input.setSelectionRange(1, 1); }
      }
    }, true);

    holder.addEventListener("paste", function (e) {
      if (editing()) return; // an open editor takes the text as typed
      var text = (e.clipboardData || window.clipboardData).getData("text");
      if (!text) return;
      e.preventDefault();
      e.stopPropagation();
      paste(text);
    }, true);

    function changedCells() {
      var cells = [];
      table.getRows().forEach(function (row) {
        var data = row.getData();
        editable.forEach(function (field) {
          var key = cellKey(data.id, field);
          if (!dirty[key]) return;
          cells.push({ row: data.id, col: colOf[field], field: measureOf[field], value: String(data[field] || ""), was: original[key] });
        });
      });
      return cells;
    }

    function firstProblemRow() {
      var keys = Object.keys(invalid).concat(Object.keys(serverErrors));
      return keys.length ? keys[0].split("|")[0] : null;
    }

    var saving = false;
    function save() {
      if (saving) return;
      if (Object.keys(invalid).length) {
        say(labels.fix_first, "danger");
        table.scrollToRow(firstProblemRow(), "center", false);
        return;
      }
      var cells = changedCells();
      if (!cells.length) { say(labels.nothing); return; }
      saving = true;
      saveButton.disabled = true;
      // The server judges every cell afresh, so earlier server errors go (and come back if still due).
      var touched = {};
      Object.keys(serverErrors).forEach(function (key) {
        var id = key.split("|")[0];
        var row = table.getRow(id);
        if (row) touched[row.getData().id] = row;
      });
      serverErrors = {};
      say(labels.saving);
      var started = performance.now();
      var body = Object.assign({}, config.params, { cells: cells });
      var csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
      fetch(config.saveUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.value : "" },
        body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().then(function (json) { return { status: response.status, json: json }; },
          function () { return { status: response.status, json: null }; });
      }).then(function (result) {
        var json = result.json || {};
        if (result.status === 200 && json.ok) {
          var seconds = ((performance.now() - started) / 1000).toFixed(2);
          cells.forEach(function (c) {
            var field = c.col + ":" + c.field;
            var key = cellKey(c.row, field);
            var row = table.getRow(c.row);
            if (!row) return;
            var parsed = PARSERS[c.field](c.value).value;
            original[key] = parsed;
            delete serverErrors[key];
            evaluate(c.row, field, row.getData()[field]); // typed again while saving? stays unsaved
            touched[c.row] = row;
          });
          say(format(labels.saved, { n: json.changed, s: seconds }), "success");
          holder.dataset.lastSaveSeconds = seconds;
          holder.dataset.serverSeconds = String(json.seconds);
          document.dispatchEvent(new CustomEvent("kehu:grid-saved", { detail: json }));
        } else {
          (json.errors || []).forEach(function (error) {
            var field = error.col + ":" + error.field;
            serverErrors[cellKey(error.row, field)] = error.message;
            var row = table.getRow(error.row);
            if (row) touched[error.row] = row;
          });
          say(json.message || labels.failed, "danger");
          var first = firstProblemRow();
          if (first) table.scrollToRow(first, "center", false);
        }
        table.blockRedraw();
        try { refresh(Object.keys(touched).map(function (k) { return touched[k]; }), false); }
        finally { table.restoreRedraw(); }
      }).catch(function () {
        say(labels.failed, "danger");
      }).then(function () {
        saving = false;
        updateBadges();
      });
    }

    function revert() {
      var changes = [];
      table.getRows().forEach(function (row) {
        var id = row.getData().id;
        var values = {};
        var any = false;
        editable.forEach(function (field) {
          var key = cellKey(id, field);
          if (dirty[key] || serverErrors[key]) { values[field] = original[key]; any = true; }
        });
        if (any) changes.push({ row: row, values: values });
      });
      serverErrors = {};
      setCells(changes);
      say("");
    }

    saveButton.addEventListener("click", save);
    revertButton.addEventListener("click", revert);
    if (fillButton) fillButton.addEventListener("click", fillDown);
    window.addEventListener("beforeunload", function (e) {
      if (Object.keys(dirty).length) { e.preventDefault(); e.returnValue = labels.leave; return labels.leave; }
    });
    table.on("tableBuilt", function () { updateBadges(); holder.dataset.ready = "true"; });
    window.kehuGrid = { table: table, paste: paste, changedCells: changedCells };
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
