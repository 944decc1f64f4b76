-- data.csv: CSV files written here with known contents, read back as a
-- TensorDataset; quoting, CRLF, blank lines, labels of each kind, and the
-- errors for every malformed row.
local data = lunet.data

local function write(bytes)
  local p = os.tmpname()
  local f = assert(io.open(p, "wb"))
  f:write(bytes)
  f:close()
  return p
end

-- read bytes with opts, remove the file, return the dataset (or raise)
local function csv(bytes, opts)
  local p = write(bytes)
  local ok, ds = pcall(data.csv, p, opts)
  os.remove(p)
  if not ok then error((ds:gsub(p:gsub("%p", "%%%0"), "FILE")), 0) end
  return ds
end

describe("data.csv", function()
  it("reads features and integer labels by header name", function()
    local ds = csv("a,b,label\n1,2.5,3\n-4,5e-1,7\n", {label = "label"})
    T.eq(#ds, 2)
    T.values(ds.tensors[1], {{1, 2.5}, {-4, 0.5}}, 0, "float32")
    T.values(ds.tensors[2], {3, 7}, 0, "int64")
    T.eq(ds.classes, nil)
    T.eq(table.concat(ds.columns, ","), "a,b")
    local x, y = ds:batch(lunet.tensor({2}, {dtype = "int64"}))
    T.values(x, {{-4, 0.5}})
    T.values(y, {7})
  end)

  it("numbers class names in order of first appearance", function()
    local ds = csv("x,kind\n1,cat\n2,dog\n3,cat\n4,bird\n", {label = 2})
    T.values(ds.tensors[2], {1, 2, 1, 3}, 0, "int64")
    T.eq(table.concat(ds.classes, ","), "cat,dog,bird")
  end)

  it("keeps fractional labels as floats", function()
    local ds = csv("x,y\n1,0.5\n2,1\n", {label = "y", dtype = "float64"})
    T.values(ds.tensors[2], {0.5, 1}, 0, "float64")
    T.eq(ds.tensors[1]:dtype(), "float64")
  end)

  it("selects columns by name or number, in the order given", function()
    local ds = csv("a,b,c,d\n1,2,3,4\n5,6,7,8\n", {columns = {"c", 1}, label = 4})
    T.values(ds.tensors[1], {{3, 1}, {7, 5}})
    T.values(ds.tensors[2], {4, 8})
    T.eq(table.concat(ds.columns, ","), "c,a")
  end)

  it("reads a file without header or label as one tensor", function()
    local ds = csv("1;2\n3;4\n", {header = false, sep = ";"})
    T.eq(#ds.tensors, 1)
    T.values(ds[2][1], {3, 4})
  end)

  it("handles quoted fields, CRLF lines, spaces and blank lines at the end", function()
    local ds = csv('"name, with comma","b"\r\n" 1 ",2\r\n"3","4"\r\n\r\n\n', {})
    T.values(ds.tensors[1], {{1, 2}, {3, 4}})
    T.eq(ds.columns[1], "name, with comma")
  end)

  it("reads quoted class names with doubled quotes and line breaks", function()
    local ds = csv('v,label\n1,"say ""hi"""\n2,"two\nlines"\n3,"say ""hi"""\n', {label = "label"})
    T.eq(ds.classes[1], 'say "hi"')
    T.eq(ds.classes[2], "two\nlines")
    T.values(ds.tensors[2], {1, 2, 1})
  end)

  it("names the file and line of a row with the wrong number of fields", function()
    T.errors(function() csv("a,b,c,d\n1,2,3,4\n1,2,3\n") end, "csv: FILE:3: row has 3 fields, expected 4")
    T.errors(function() csv("a,b\n1,2\n\n\n1,2,3\n") end, "csv: FILE:5: row has 3 fields, expected 2")
    -- lines inside a quoted field count
    T.errors(function() csv('a,b\n"x\ny",2\n1\n') end, "csv: FILE:4: row has 1 field, expected 2")
  end)

  it("names the file, line and column of a cell that is not a number", function()
    T.errors(function() csv("a,b\n1,2\n3,x7\n") end, "csv: FILE:3: column 2: 'x7' is not a number")
    T.errors(function() csv("a,b\n1,\n") end, "csv: FILE:2: column 2: '' is not a number")
    T.errors(function() csv("a,y\n1,\n", {label = "y"}) end, "csv: FILE:2: column 2: the label is empty")
  end)

  it("refuses unterminated quotes and stray characters after a quote", function()
    T.errors(function() csv('a,b\n1,"2\n3,4\n') end, "csv: FILE:2: unterminated quoted field")
    T.errors(function() csv('a,b\n1,"2"x\n') end, "csv: FILE:2: unexpected character after a quoted field")
  end)

  it("refuses unknown columns, bad options, an empty file and a missing one", function()
    T.errors(function() csv("a,b\n1,2\n", {label = "c"}) end, "csv: FILE has no column named 'c'")
    T.errors(function() csv("a,b\n1,2\n", {label = 3}) end, "csv: label column 3 is out of range (FILE has 2 columns)")
    T.errors(function() csv("1,2\n", {header = false, label = "a"}) end, "needs header = true")
    T.errors(function() csv("a,b\n1,2\n", {sep = ";;"}) end, "the separator must be one character")
    T.errors(function() csv("a,b\n1,2\n", {dtype = "int64"}) end, "dtype must be \"float32\" or \"float64\"")
    T.errors(function() csv("a,b\n1,2\n", {lable = 1}) end, "csv: unknown option 'lable'")
    T.errors(function() csv("\n\n") end, "csv: FILE has no rows")
    T.errors(function() data.csv("/nonexistent/x.csv") end, "csv: cannot open /nonexistent/x.csv")
  end)

  it("round-trips a larger file written here", function()
    local lines, want = {"f1,f2,f3,label"}, {}
    for i = 1, 300 do
      lines[#lines + 1] = string.format("%d,%g,%g,%s", i, i / 4, -i * 1.5, i % 3 == 0 and "c" or "d")
      want[i] = {i, i / 4, -i * 1.5}
    end
    local ds = csv(table.concat(lines, "\n"), {label = "label"})
    T.values(ds.tensors[1], want)
    T.eq(ds.tensors[2][3], 2)
    T.eq(ds.tensors[2][1], 1)
    T.eq(table.concat(ds.classes, ","), "d,c")
    local n = 0
    for xb, yb in data.DataLoader(ds, {batch_size = 64}):batches() do n = n + xb:size(1) end
    T.eq(n, 300)
  end)
end)
